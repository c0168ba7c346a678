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
  /** Locals of this scope bound to `Callee(...)` (capitalised callee): name → dotted callee. */
  binds?: Map<string, string>;
}

type FnRef =
  | { t: 'name'; name: string }
  | { t: 'self'; name: string }            // self.m() / cls.m()
  | { t: 'attr'; base: string; name: string } // inst.m(), Cls.m(), module.f(), self.x.m(), local.m()
  | { t: 'ctor'; cls: string; name: string }; // Cls(...).m()

const PROCESS_POOL = /Process|multiprocessing|\bPool\(/;

function refOf(n: SyntaxNode | null | undefined): FnRef[] {
  if (!n) return [];
  if (n.type === 'identifier') return [{ t: 'name', name: n.text }];
  if (n.type === 'attribute') {
    const obj = n.childForFieldName('object');
    const base = dottedName(obj);
    const name = n.childForFieldName('attribute')?.text ?? '';
    if (base === 'self' || base === 'cls') return [{ t: 'self', name }];
    if (base) return [{ t: 'attr', base, name }];
    if (obj?.type === 'call') {
      const cls = dottedName(obj.childForFieldName('function'));
      if (cls && /^[A-Z]/.test(lastName(cls))) return [{ t: 'ctor', cls, name }];
    }
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

/** `x = Cls(...)` directly in `scope` (not in nested defs). */
function bindsOf(scope: SyntaxNode): Map<string, string> | undefined {
  if (scope.type !== 'function_definition') return undefined;
  let out: Map<string, string> | undefined;
  for (const a of scope.descendantsOfType('assignment')) {
    if (!a) continue;
    const left = a.childForFieldName('left'), right = a.childForFieldName('right');
    if (left?.type !== 'identifier' || right?.type !== 'call') continue;
    const callee = dottedName(right.childForFieldName('function'));
    if (!callee || !/^[A-Z]/.test(lastName(callee))) continue;
    let owner: SyntaxNode | null = a.parent;
    while (owner && owner.type !== 'function_definition' && owner.type !== 'lambda' && owner.type !== 'class_definition') owner = owner.parent;
    if (owner?.id !== scope.id) continue;
    (out ??= new Map()).set(left.text, callee);
  }
  return out;
}

export function summarize(scope: SyntaxNode, scopeText: string): CallSummary {
  const out: CallSummary = { calls: [], spawns: [] };
  const binds = /=\s*[A-Za-z_.]*[A-Z]\w*\(/.test(scopeText) ? bindsOf(scope) : undefined;
  if (binds) out.binds = binds;
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

function usesSharedStores(facts: ModuleFacts): boolean {
  for (const s of facts.symbols.values()) {
    if (s.store === 'redis' || s.store === 'djcache') return true;
    if ((s.kind === 'module' || s.kind === 'imported') && /^(redis|django_redis|django\.core\.cache)(\.|$)/.test(s.ref ?? '')) return true;
  }
  for (const c of facts.classes.values()) for (const t of c.attrTags.values()) if (t === 'redis' || t === 'djcache') return true;
  return false;
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
      // An object's coroutines run interleaved on one loop: its state is shared between them.
      if (fn.isAsync) this.add(fn, { kind: 'async', selfShared: !!fn.className && !fn.decorators.some(d => d.text === 'staticmethod'), entry: fn.qualName });
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
      if (fn) { this.add(fn, e.context); continue; }
      // `inst.m` where inst is a module-level instance: its state is shared by every caller.
      const dot = e.name.indexOf('.');
      const sym = dot > 0 ? this.facts.symbols.get(e.name.slice(0, dot)) : undefined;
      if (sym?.kind === 'instance') {
        const m = this.methodOf(this.facts.classes.get(sym.ref ?? ''), e.name.slice(dot + 1));
        if (m) this.add(m, { ...e.context, selfShared: true });
      }
    }
    this.follow();
    // Redis clients and Django caches are shared by every process running this code, whoever
    // calls it (views, tasks, other libraries): the rest of the functions are walked for those only.
    if (usesSharedStores(this.facts)) {
      for (const fn of this.facts.functions) if (!this.contexts.has(fn) && !fn.isAsync) this.add(fn, { kind: 'process', selfShared: false, entry: fn.qualName });
      this.work.length = 0;
    }
  }

  /** Follow calls from every concurrent sync function (async callers switch only at awaits: the sync code they call runs atomically in the loop). */
  private follow(): void {
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

  /**
   * A local of `from` (or of a function enclosing it) bound to `Cls(...)`. Shared by threads when
   * it belongs to an enclosing function and `from` is what the threads run.
   */
  private boundCtor(name: string, from: FunctionInfo | null, ctx: Context): { cls: string; shared: boolean } | undefined {
    for (let scope: FunctionInfo | undefined = from ?? undefined; scope; scope = scope.parent) {
      const cls = this.summaryOf(scope).binds?.get(name);
      if (cls) return { cls, shared: scope !== from && ctx.kind === 'thread' && ctx.entry === from?.qualName };
    }
    return undefined;
  }

  /** Method `name` of the class `cls` names: in this module, or followed into the module it is imported from. */
  private methodOfCtor(cls: string, name: string, selfShared: boolean, ctx: Context): { fn: FunctionInfo; selfShared: boolean }[] {
    const local = this.facts.classes.get(cls);
    if (local) { const m = this.methodOf(local, name); return m ? [{ fn: m, selfShared }] : []; }
    const head = cls.split('.')[0];
    const sym = this.facts.symbols.get(head);
    if (!ctx.entry || !sym?.ref) return [];
    if (sym.kind === 'imported' && head === cls) this.external.push({ module: sym.ref, name: `${sym.origName ?? cls}.${name}`, context: { ...ctx, selfShared } });
    else if (sym.kind === 'module') this.external.push({ module: cls.slice(0, cls.lastIndexOf('.')).replace(head, sym.ref), name: `${lastName(cls)}.${name}`, context: { ...ctx, selfShared } });
    return [];
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
      // Calling an object: `D(url)` runs `D.__call__`.
      const bound = this.boundCtor(ref.name, from, ctx);
      if (bound) return this.methodOfCtor(bound.cls, '__call__', bound.shared, ctx);
      const sym = this.facts.symbols.get(ref.name);
      if (sym?.kind === 'imported' && sym.ref && ctx.entry) this.external.push({ module: sym.ref, name: sym.origName ?? ref.name, context: { ...ctx, selfShared: false } });
      return [];
    }
    if (ref.t === 'self') {
      const cls = from?.className ? this.facts.classes.get(from.className) : undefined;
      const m = this.methodOf(cls, ref.name);
      return m ? [{ fn: m, selfShared: ctx.selfShared }] : [];
    }
    if (ref.t === 'ctor') return this.methodOfCtor(ref.cls, ref.name, false, ctx);
    if (ref.base.startsWith('self.') && !ref.base.slice(5).includes('.')) {
      // self.x.m(): x built in a method (`self.x = Cls(...)`); shared when self is.
      const cls = from?.className ? this.facts.classes.get(from.className) : undefined;
      const ctor = cls?.attrCtors.get(ref.base.slice(5));
      return ctor ? this.methodOfCtor(ctor, ref.name, ctx.selfShared, ctx) : [];
    }
    const bound = this.boundCtor(ref.base, from, ctx);
    if (bound) return this.methodOfCtor(bound.cls, ref.name, bound.shared, ctx);
    const sym = this.facts.symbols.get(ref.base);
    if (sym?.kind === 'var' && sym.ctor && /^[A-Z]/.test(lastName(sym.ctor))) return this.methodOfCtor(sym.ctor, ref.name, true, ctx);
    if (sym?.kind === 'imported' && sym.ref && ctx.entry) {
      // `from m import inst` / `from m import Cls`: the target module resolves `inst.m` / `Cls.m`.
      this.external.push({ module: sym.ref, name: `${sym.origName ?? ref.base}.${ref.name}`, context: { ...ctx, selfShared: false } });
    }
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
