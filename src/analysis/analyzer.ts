// Analyses one module: contexts → per-function walks (cached by function text, so an edit
// re-analyses only the changed function) → messages, fixes, suppressions.
// With syntax errors, functions the parser lost keep their last good findings.
import { createHash } from 'node:crypto';
import type { SyntaxNode, Tree } from './python';
import { CacheMethodSummary, CacheSummaries, functionCacheSummary } from './cacheSummaries';
import { CeleryConfig, celeryFunctionFindings, celeryModule, celeryModuleFindings } from './celeryRules';
import { Context, ContextResolver, ExternalCall, summarize } from './contexts';
import { buildFixes, isSuppressed, splitLines } from './fixes';
import { messageFor, relatedMessage } from './messages';
import { FunctionInfo, ModuleFacts, ModuleSymbol, collectModuleFacts } from './moduleFacts';
import { Finding, QuickFix, Range } from './types';
import { FunctionWalker, Guard, RawFinding } from './walker';
import { orderFixesForPool } from './poolFixes';
import { PoolInfo, poolSentence } from './workerPool';

export interface AnalyzeOptions {
  disabledRules?: Iterable<string>;
  /** Functions (qualified names) other modules call from concurrent code. */
  extraEntries?: { name: string; context: Context }[];
  /** Celery settings read from the project's configuration files (visibility timeout, time limit). */
  celery?: CeleryConfig;
  /** Django cache keys other modules' functions read / set (cross-module get-then-set locks). */
  cacheMethods?: CacheSummaries;
  /** The workspace's Celery pool: orders the fixes of task code (cross-process fixes first under prefork). */
  pool?: PoolInfo;
}

export interface ModuleResult {
  findings: Finding[];
  external: ExternalCall[];
  hasSyntaxErrors: boolean;
  /** Where the first syntax error is (when there is one). */
  syntaxError?: Range;
  /** Functions found concurrent. */
  concurrentFunctions: number;
}

interface FnResult { raw: RawFinding[]; guards: Guard[]; deps: { name: string; text: string }[] }
interface GoodFn extends FnResult { text: string; column: number; ctx: Context; className?: string }

/** Cheap text test: can anything in this file run concurrently? (No → no parse needed.) */
export function mayBeConcurrent(text: string): boolean {
  return /\.task\b|shared_task|periodic_task|Thread\b|Timer\(|start_new|\.submit\(|\.map\(|run_in_executor|to_thread|async\s+def|Greenlet|\bspawn\(|\bTask\b|django\.core\.cache|get_redis_connection|\bStrictRedis\b|redis\.Redis\b|\bimport redis\b|from redis import|django_redis|transaction\.atomic|django\.db\.transaction import|visibility_timeout/.test(text);
}

function shift(r: Range, d: number): Range {
  return { start: { line: r.start.line + d, character: r.start.character }, end: { line: r.end.line + d, character: r.end.character } };
}

function shiftRaw(f: RawFinding, d: number): RawFinding {
  if (d === 0) return f;
  return {
    ...f, write: shift(f.write, d), read: shift(f.read, d),
    ...(f.wrap ? { wrap: { start: f.wrap.start + d, end: f.wrap.end + d } } : {}),
    ...(f.awaitLine !== undefined ? { awaitLine: f.awaitLine + d } : {}),
    ...(f.rewrite ? { rewrite: { ...f.rewrite, edits: f.rewrite.edits.map(e => ({ ...e, range: shift(e.range, d) })) } } : {}),
  };
}

const PRIORITY = { celery: 0, thread: 1, async: 2, process: 3 } as const;
const SPAWN_WORDS = /Thread|Timer|submit|map|start_new|executor|spawn|to_thread/;

/** One context per function for the walk: the most telling kind; `self` shared if any says so. */
function mergeContexts(list: Context[]): Context {
  const best = [...list].sort((a, b) => PRIORITY[a.kind] - PRIORITY[b.kind])[0];
  return { ...best, selfShared: list.some(c => c.selfShared && c.kind === best.kind) };
}

export class ModuleAnalyzer {
  private summaries = new Map<string, ReturnType<typeof summarize>>();
  private prevSummaries = new Map<string, ReturnType<typeof summarize>>();
  private results = new Map<string, FnResult>();
  private prevResults = new Map<string, FnResult>();
  private lastGood: GoodFn[] = [];
  private lastGoodSymbols = new Map<string, ModuleSymbol>();
  private celeryResults = new Map<string, RawFinding[]>();
  private prevCeleryResults = new Map<string, RawFinding[]>();
  private cacheSums = new Map<string, CacheMethodSummary | null>();
  private prevCacheSums = new Map<string, CacheMethodSummary | null>();
  /** Functions walked fresh in the last analyze() (for tests and benchmarks). */
  walked = 0;

  analyze(tree: Tree, text: string, opts: AnalyzeOptions = {}): ModuleResult {
    const root = tree.rootNode;
    const broken = root.hasError;
    const facts = collectModuleFacts(root, text);
    if (broken) for (const [k, v] of this.lastGoodSymbols) if (!facts.symbols.has(k)) facts.symbols.set(k, v);
    const src = splitLines(text);
    const fnText = new Map<FunctionInfo, string>();
    const textOf = (fn: FunctionInfo) => { let t = fnText.get(fn); if (t === undefined) { t = text.slice(fn.node.startIndex, fn.node.endIndex); fnText.set(fn, t); } return t; };

    const summaryOf = (fn: FunctionInfo | null) => {
      if (!fn) return this.moduleLevelSummary(root, text);
      const key = textOf(fn);
      let s = this.summaries.get(key) ?? this.prevSummaries.get(key);
      if (!s) s = summarize(fn.node, key);
      this.summaries.set(key, s);
      return s;
    };
    const resolver = new ContextResolver(facts, summaryOf);
    resolver.resolve(opts.extraEntries);

    // This module's own summaries join the project's (a method calling a sibling method).
    const baseKey = fingerprint(facts);
    const cacheMethods: CacheSummaries = new Map(opts.cacheMethods ?? []);
    if (/django\.core\.cache|caches\[/.test(text)) {
      for (const fn of facts.functions) {
        const key = `${fn.className ?? ''}|${baseKey}\n${textOf(fn)}`;
        let sum = this.cacheSums.get(key) ?? this.prevCacheSums.get(key);
        if (sum === undefined) sum = functionCacheSummary(fn, facts, textOf(fn)) ?? null;
        this.cacheSums.set(key, sum);
        if (sum) cacheMethods.set(fn.qualName, sum);
      }
    }
    const factsKey = baseKey + (cacheMethods.size ? createHash('sha1').update(JSON.stringify([...cacheMethods])).digest('base64') : '');
    const raw: { f: RawFinding; ctx: Context; className?: string; fn: string }[] = [];
    const guards: Guard[] = [];
    const good: GoodFn[] = [];
    const covered = new Set<string>();
    this.walked = 0;
    for (const [fn, ctxs] of resolver.contexts) {
      // A function with a syntax error is still walked (ERROR nodes are skipped): what parsed is kept.
      const ctx = mergeContexts(ctxs);
      const t = textOf(fn);
      const column = fn.node.startPosition.column;
      const key = `${column}|${ctx.kind}|${ctx.selfShared}|${fn.className ?? ''}|${factsKey}\n${t}`;
      let r = this.results.get(key) ?? this.prevResults.get(key);
      // A walk that looked into helpers is valid only while their text is unchanged.
      if (r && r.deps.length && !r.deps.every(d => { const h = facts.functions.find(f => f.qualName === d.name); return !!h && textOf(h) === d.text; })) r = undefined;
      if (!r) {
        const walker = new FunctionWalker(fn, ctx, facts, src.lines, cacheMethods);
        walker.run();
        this.walked++;
        const d = -fn.node.startPosition.row;
        r = { raw: walker.findings.map(f => shiftRaw(f, d)), guards: walker.guards, deps: walker.deps };
      }
      this.results.set(key, r);
      const row = fn.node.startPosition.row;
      for (const f of r.raw) raw.push({ f: shiftRaw(f, row), ctx, ...(fn.className ? { className: fn.className } : {}), fn: fn.qualName });
      guards.push(...r.guards);
      good.push({ ...r, text: t, column, ctx, ...(fn.className ? { className: fn.className } : {}) });
      covered.add(`${column}\n${t}`);
    }

    if (broken) {
      // Functions the parser lost behind a syntax error keep their last findings if their text is intact.
      for (const g of this.lastGood) {
        if (covered.has(`${g.column}\n${g.text}`)) continue;
        const at = text.indexOf(g.text);
        if (at < 0) continue;
        const row = lineOf(text, at);
        for (const f of g.raw) raw.push({ f: shiftRaw(f, row), ctx: g.ctx, ...(g.className ? { className: g.className } : {}), fn: '' });
        guards.push(...g.guards);
      }
    } else {
      this.lastGood = good;
      this.lastGoodSymbols = facts.symbols;
    }
    // Celery-semantics passes: per function, cached like the walks (decorators included in the key).
    const celery = opts.celery ?? {};
    const mod = celeryModule(root, text, celery);
    const celeryCtx: Context = { kind: 'celery', selfShared: false, entry: '' };
    if (mod.sends || mod.limits) {
      for (const fn of facts.functions) {
        const st = text.slice(fn.stmt.startIndex, fn.stmt.endIndex);
        const key = `${fn.stmt.startPosition.column}|${mod.key}|${baseKey}\n${st}`;
        let r = this.celeryResults.get(key) ?? this.prevCeleryResults.get(key);
        const row = fn.stmt.startPosition.row;
        if (!r) r = celeryFunctionFindings(fn, st, facts, mod, celery).map(f => shiftRaw(f, -row));
        this.celeryResults.set(key, r);
        for (const f of r) raw.push({ f: shiftRaw(f, row), ctx: celeryCtx, fn: fn.qualName });
      }
    }
    for (const f of celeryModuleFindings(root, text, facts)) raw.push({ f, ctx: celeryCtx, fn: enclosingName(facts, f.write.start.line) });
    this.prevCeleryResults = this.celeryResults; this.celeryResults = new Map();
    this.prevCacheSums = this.cacheSums; this.cacheSums = new Map();
    this.prevSummaries = this.summaries; this.summaries = new Map();
    this.prevResults = this.results; this.results = new Map();

    const disabled = new Set(opts.disabledRules ?? []);
    const findings: Finding[] = [];
    const seen = new Set<string>();
    for (const { f, ctx, className, fn } of raw) {
      if (disabled.has(f.rule) || isSuppressed(src.lines, f.write.start.line, f.rule) || isSuppressed(src.lines, f.write.end.line, f.rule)) continue;
      const id = `${f.rule}:${f.write.start.line}:${f.write.start.character}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const finding = {
        rule: f.rule, message: messageFor(f, ctx), range: f.write, state: f.state.display, functionName: fn,
        related: [{ range: f.read, message: relatedMessage(f) }],
      } as Finding;
      const pool = ctx.kind === 'celery' ? opts.pool : undefined;
      if (pool) finding.pool = poolSentence(pool);
      // Fixes are built when first asked for (code action, CLI JSON): most findings are never fixed.
      let fixes: QuickFix[] | undefined;
      const build = () => { const b = buildFixes(f, src, facts, guards, className); return pool ? orderFixesForPool(b, f, src, facts, pool) : b; };
      Object.defineProperty(finding, 'fixes', { enumerable: true, get: () => (fixes ??= build()) });
      findings.push(finding);
    }
    findings.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
    return {
      findings, external: resolver.external, hasSyntaxErrors: broken, concurrentFunctions: resolver.contexts.size,
      ...(broken ? { syntaxError: firstError(root) } : {}),
    };
  }

  /** Thread starts in module-level code (outside defs and classes). */
  private moduleLevelSummary(root: SyntaxNode, text: string): ReturnType<typeof summarize> {
    const out: ReturnType<typeof summarize> = { calls: [], spawns: [] };
    if (!SPAWN_WORDS.test(text)) return out;
    for (const s of root.namedChildren) {
      if (!s || s.type === 'function_definition' || s.type === 'class_definition' || s.type === 'decorated_definition') continue;
      const t = s.text;
      if (!SPAWN_WORDS.test(t)) continue;
      const key = `module\n${t}`;
      const sum = this.summaries.get(key) ?? this.prevSummaries.get(key) ?? summarize(s, t);
      this.summaries.set(key, sum);
      out.spawns.push(...sum.spawns);
    }
    return out;
  }
}

/** Range of the first ERROR or MISSING node (depth-first, skipping subtrees without errors). */
function firstError(root: SyntaxNode): Range {
  let n: SyntaxNode = root;
  for (;;) {
    if (n.type === 'ERROR' || n.isMissing) break;
    const next = n.children.find(c => !!c && (c.hasError || c.isMissing || c.type === 'ERROR'));
    if (!next) break;
    n = next;
  }
  return { start: { line: n.startPosition.row, character: n.startPosition.column }, end: { line: n.endPosition.row, character: n.endPosition.column } };
}

/** Qualified name of the innermost function holding `line`, or '' at module level. */
function enclosingName(facts: ModuleFacts, line: number): string {
  let best: FunctionInfo | undefined;
  for (const fn of facts.functions) if (fn.node.startPosition.row <= line && line <= fn.node.endPosition.row && (!best || fn.node.startIndex > best.node.startIndex)) best = fn;
  return best?.qualName ?? '';
}

function lineOf(text: string, index: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** What a function walk depends on besides its own text (functions excluded: adding a def must not re-walk all). */
function fingerprint(facts: ModuleFacts): string {
  const parts: string[] = [];
  for (const s of facts.symbols.values()) if (s.kind !== 'function') parts.push(`${s.name}:${s.kind}:${s.ref ?? ''}:${s.store ?? ''}:${s.ctor ?? ''}`);
  for (const c of facts.classes.values()) {
    parts.push(`class ${c.name}(${c.bases.join(',')})${[...c.attrs].join(',')}|${[...c.attrTags].join(',')}|${[...c.attrCtors].join(',')}|${[...c.properties].map(([k, v]) => `${k}=${v.text}`).join(',')}`);
  }
  return createHash('sha1').update(parts.sort().join(';')).digest('base64');
}
