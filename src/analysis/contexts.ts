// Which functions run concurrently: Celery tasks, thread / executor targets, Thread.run and
// Celery Task.run overrides, async defs, and every sync function those call (within the module;
// calls into other modules are returned for the project pass to follow).
import type { SyntaxNode } from './python';
import { ClassInfo, FunctionInfo, ModuleFacts, isTaskDecorator } from './moduleFacts';
import { callArgs, dottedName, lastName } from './syntax';
import { ContextKind } from './types';

export interface Context {
  kind: ContextKind;
  /** `self` (or `cls`) is one object shared by all concurrent runs. */
  selfShared: boolean;
  /** The task / thread target it was reached from, e.g. `count_order`. */
  entry: string;
}

/** A call from a concurrent function into another module: `mod.func(...)` or an imported name. */
export interface ExternalCall { module: string; name: string; context: Context }

/** What a function calls and starts, independent of whether it is concurrent (cached by text). */
interface CallSummary {
  calls: FnRef[];
  spawns: { ref: FnRef; inLoop: boolean }[];
}

type FnRef =
  | { t: 'name'; name: string }
  | { t: 'self'; name: string }            // self.m() / cls.m()
  | { t: 'attr'; base: string; name: string }; // inst.m(), Cls.m(), module.f()

const PROCESS_POOL = /Process|multiprocessing|\bPool\(/;

function refOf(n: SyntaxNode | null | undefined): FnRef[] {
  if (!n) return [];
  if (n.type === 'identifier') return [{ t: 'name', name: n.text }];
  if (n.type === 'attribute') {
    const base = dottedName(n.childForFieldName('object'));
    const name = n.childForFieldName('attribute')?.text ?? '';
    if (base === 'self' || base === 'cls') return [{ t: 'self', name }];
    if (base) return [{ t: 'attr', base, name }];
    return [];
  }
  if (n.type === 'call') {
    // functools.partial(f, ...) runs f
    const callee = lastName(dottedName(n.childForFieldName('function')));
    if (callee === 'partial') return refOf(callArgs(n).positional[0]);
    return [];
  }
  if (n.type === 'lambda') {
    const body = n.childForFieldName('body');
    return body ? body.descendantsOfType('call').flatMap(c => refOf(c?.childForFieldName('function'))) : [];
  }
  return [];
}

function inLoop(n: SyntaxNode, stop: SyntaxNode): boolean {
  for (let p = n.parent; p && p.id !== stop.id; p = p.parent) {
    if (p.type === 'for_statement' || p.type === 'while_statement' || p.type === 'list_comprehension' || p.type === 'generator_expression') return true;
    if (p.type === 'function_definition') return false;
  }
  return false;
}

/** Receiver of `.map`/`.submit` is a process pool (separate memory: nothing shared) if its definition says so. */
function isProcessPool(recv: string, scopeText: string): boolean {
  if (!recv) return false;
  const esc = recv.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`(?:\\b${esc}\\s*=\\s*([^\\n]*)|([^\\n]*)\\bas\\s+${esc}\\b)`).exec(scopeText);
  return !!m && PROCESS_POOL.test(m[1] ?? m[2] ?? '');
}

export function summarize(scope: SyntaxNode, scopeText: string): CallSummary {
  const out: CallSummary = { calls: [], spawns: [] };
  for (const call of scope.descendantsOfType('call')) {
    if (!call) continue;
    const fnNode = call.childForFieldName('function');
    const callee = dottedName(fnNode);
    out.calls.push(...refOf(fnNode));
    const last = lastName(callee);
    const { positional, keywords } = callArgs(call);
    let target: SyntaxNode | undefined;
    const recv = callee.includes('.') ? callee.slice(0, callee.lastIndexOf('.')) : '';
    if (last === 'Thread' || last === 'Greenlet') target = keywords.get('target') ?? (last === 'Greenlet' ? positional[0] : positional[1]);
    else if (last === 'Timer') target = keywords.get('function') ?? positional[1];
    else if (last === 'start_new_thread' || last === 'start_new' || last === 'spawn' && /gevent|eventlet/.test(recv) || last === 'to_thread') target = positional[0];
    else if (last === 'run_in_executor') target = positional[1];
    else if (last === 'submit' && fnNode?.type === 'attribute' && !isProcessPool(recv, scopeText)) target = positional[0];
    else if (last === 'map' && /executor|pool|^ex$|^e$|workers?$/i.test(lastName(recv)) && !isProcessPool(recv, scopeText)) target = positional[0];
    if (target) for (const ref of refOf(target)) out.spawns.push({ ref, inLoop: inLoop(call, scope) || last === 'map' || last === 'submit' });
  }
  return out;
}

function isThreadClass(c: ClassInfo): boolean { return c.bases.some(b => lastName(b) === 'Thread'); }
function isTaskClass(c: ClassInfo): boolean { return c.bases.some(b => lastName(b) === 'Task'); }

export class ContextResolver {
  readonly contexts = new Map<FunctionInfo, Context[]>();
  readonly external: ExternalCall[] = [];
  private readonly work: [FunctionInfo, Context][] = [];
  private readonly byQualName: Map<string, FunctionInfo>;

  constructor(private readonly facts: ModuleFacts, private readonly summaryOf: (fn: FunctionInfo | null) => CallSummary) {
    this.byQualName = new Map(facts.functions.map(f => [f.qualName, f]));
  }

  /** Adds a context to `fn`; returns false if an equivalent one is already there. */
  private add(fn: FunctionInfo, ctx: Context): void {
    const list = this.contexts.get(fn) ?? [];
    if (list.some(c => c.kind === ctx.kind && (c.selfShared || !ctx.selfShared))) return;
    list.push(ctx);
    this.contexts.set(fn, list);
    this.work.push([fn, ctx]);
  }

  /** Entries found in the module plus `extra` (functions other modules call concurrently). */
  resolve(extra: { name: string; context: Context }[] = []): void {
    for (const fn of this.facts.functions) {
      for (const d of fn.decorators) {
        const t = isTaskDecorator(d);
        if (t.task) this.add(fn, { kind: 'celery', selfShared: t.bind, entry: fn.qualName });
      }
      if (fn.isAsync) this.add(fn, { kind: 'async', selfShared: false, entry: fn.qualName });
    }
    for (const cls of this.facts.classes.values()) {
      const run = cls.methods.get('run');
      if (run && isThreadClass(cls)) this.add(run, { kind: 'thread', selfShared: false, entry: `${cls.name}.run` });
      if (run && isTaskClass(cls)) this.add(run, { kind: 'celery', selfShared: true, entry: `${cls.name}.run` });
    }
    // Thread / executor targets, wherever they are started (module level included).
    this.spawnsFrom(null);
    for (const fn of this.facts.functions) this.spawnsFrom(fn);
    for (const e of extra) {
      const fn = this.byQualName.get(e.name);
      if (fn) this.add(fn, e.context);
    }
    // Follow calls from every concurrent sync function (async callers switch only at awaits:
    // the sync code they call runs atomically in the loop).
    while (this.work.length) {
      const [fn, ctx] = this.work.pop()!;
      if (fn.isAsync) continue;
      for (const ref of this.summaryOf(fn).calls) {
        for (const target of this.lookup(ref, fn, ctx)) this.add(target.fn, { kind: ctx.kind, selfShared: target.selfShared, entry: ctx.entry });
      }
    }
  }

  private spawnsFrom(fn: FunctionInfo | null): void {
    for (const { ref, inLoop } of this.summaryOf(fn).spawns) {
      const ctx: Context = { kind: 'thread', selfShared: false, entry: ref.t === 'attr' ? `${ref.base}.${ref.name}` : ref.name };
      for (const target of this.lookup(ref, fn, ctx)) {
        // self.m started once: one thread uses self; started many times (loop, executor): shared.
        const selfShared = ref.t === 'self' ? inLoop : target.selfShared;
        this.add(target.fn, { kind: 'thread', selfShared, entry: target.fn.qualName });
      }
    }
  }

  private methodOf(cls: ClassInfo | undefined, name: string, seen = new Set<string>()): FunctionInfo | undefined {
    if (!cls || seen.has(cls.name)) return undefined;
    seen.add(cls.name);
    return cls.methods.get(name) ?? cls.bases.map(b => this.methodOf(this.facts.classes.get(b), name, seen)).find(Boolean);
  }

  private lookup(ref: FnRef, from: FunctionInfo | null, ctx: Context): { fn: FunctionInfo; selfShared: boolean }[] {
    if (ref.t === 'name') {
      for (let scope: FunctionInfo | undefined = from ?? undefined; scope; scope = scope.parent) {
        const nested = scope.nested.get(ref.name);
        if (nested) return [{ fn: nested, selfShared: false }];
      }
      const top = this.byQualName.get(ref.name);
      if (top) return [{ fn: top, selfShared: false }];
      const sym = this.facts.symbols.get(ref.name);
      if (sym?.kind === 'imported' && sym.ref && ctx.entry) this.external.push({ module: sym.ref, name: sym.origName ?? ref.name, context: { ...ctx, selfShared: false } });
      return [];
    }
    if (ref.t === 'self') {
      const cls = from?.className ? this.facts.classes.get(from.className) : undefined;
      const m = this.methodOf(cls, ref.name);
      return m ? [{ fn: m, selfShared: ctx.selfShared }] : [];
    }
    const sym = this.facts.symbols.get(ref.base);
    if (sym?.kind === 'instance') {
      const m = this.methodOf(this.facts.classes.get(sym.ref ?? ''), ref.name);
      return m ? [{ fn: m, selfShared: true }] : [];
    }
    if (sym?.kind === 'class') {
      const m = this.methodOf(this.facts.classes.get(ref.base), ref.name);
      return m ? [{ fn: m, selfShared: true }] : [];
    }
    if (sym?.kind === 'imported' && sym.ref && ctx.entry) this.external.push({ module: `${sym.ref}.${sym.origName ?? ref.base}`, name: ref.name, context: { ...ctx, selfShared: false } });
    if (sym?.kind === 'module' && sym.ref && ctx.entry) this.external.push({ module: sym.ref, name: ref.name, context: { ...ctx, selfShared: false } });
    return [];
  }
}
