// Which Django cache keys a function reads and which it sets to a marker, as templates over its
// parameters ($0, $1, …): `def is_running(self, name, args): return self.cache.get(make_key(name, args))`
// reads `make_key($0,$1)`. A caller in another module that checks `w.is_running(n, a)` and then
// calls `w.lock(n, a)` (which sets the same key) holds a get-then-set lock split across two methods.
import type { SyntaxNode } from './python';
import { FunctionInfo, ModuleFacts } from './moduleFacts';
import { StoreTag, storeTagOfValue, symbolTag } from './stores';
import { callArgs, dottedName, norm, unparen } from './syntax';

export interface CacheMethodSummary { reads: string[]; claims: string[] }
/** Keyed by `Class.method` or a module function's name. */
export type CacheSummaries = Map<string, CacheMethodSummary>;

const MARKER_CALL = /(^|\.)(time|now|now_unix|utcnow|monotonic|getpid|gethostname|uuid[14]?|str|int)$/;

function paramsOf(fn: FunctionInfo): string[] {
  const names = (fn.node.childForFieldName('parameters')?.namedChildren ?? []).filter((p): p is SyntaxNode => !!p)
    .map(p => (p.type === 'identifier' ? p.text : p.childForFieldName('name')?.text ?? p.namedChild(0)?.text ?? ''));
  const isStatic = fn.decorators.some(d => d.text === 'staticmethod');
  return fn.className && !isStatic ? names.slice(1) : names;
}

/** The key expression in terms of parameters, or undefined when it depends on anything else local. */
function template(key: SyntaxNode, params: string[], locals: Map<string, SyntaxNode>, depth = 0): string | undefined {
  const k = unparen(key);
  if (k.type === 'identifier' && locals.has(k.text) && depth === 0) return template(locals.get(k.text)!, params, locals, 1);
  let text = norm(k);
  for (const id of k.descendantsOfType('identifier').concat(k.type === 'identifier' ? [k] : [])) {
    if (!id) continue;
    if (locals.has(id.text) && !params.includes(id.text)) return undefined;
  }
  params.forEach((p, i) => { text = text.replace(new RegExp(`(?<![\\w.])${p}(?!\\w)`, 'g'), () => `$${i}`); });
  return /\$\d/.test(text) ? text : undefined;
}

export function cacheSummariesOf(facts: ModuleFacts, source: string): CacheSummaries {
  const out: CacheSummaries = new Map();
  for (const fn of facts.functions) {
    const summary = functionCacheSummary(fn, facts, source.slice(fn.node.startIndex, fn.node.endIndex));
    if (summary) out.set(fn.qualName, summary);
  }
  return out;
}

/** One function's summary (`text`: its source), or undefined when it touches no parameter-keyed cache entry. */
export function functionCacheSummary(fn: FunctionInfo, facts: ModuleFacts, text: string): CacheMethodSummary | undefined {
  {
    if (!/\.(get|set|has_key)\(/.test(text) || fn.parent) return undefined;
    const cls = fn.className ? facts.classes.get(fn.className) : undefined;
    const tagOf = (name: string): StoreTag | undefined => {
      if ((name.startsWith('self.') || name.startsWith('cls.')) && cls) return cls.attrTags.get(name.slice(name.indexOf('.') + 1));
      if (cls && name.startsWith(`${cls.name}.`)) return cls.attrTags.get(name.slice(cls.name.length + 1));
      return symbolTag(facts.symbols, name);
    };
    const params = paramsOf(fn);
    const locals = new Map<string, SyntaxNode>();
    for (const a of fn.node.descendantsOfType('assignment')) {
      const left = a?.childForFieldName('left'), right = a?.childForFieldName('right');
      if (left?.type === 'identifier' && right && !locals.has(left.text)) locals.set(left.text, right);
    }
    const summary: CacheMethodSummary = { reads: [], claims: [] };
    for (const call of fn.node.descendantsOfType('call')) {
      const f = call?.childForFieldName('function');
      if (!call || f?.type !== 'attribute') continue;
      const method = f.childForFieldName('attribute')?.text ?? '';
      if (!['get', 'has_key', 'set'].includes(method)) continue;
      const recv = f.childForFieldName('object')!;
      if (storeTagOfValue(recv, tagOf) !== 'djcache') continue;
      const { positional, keywords } = callArgs(call);
      const key = positional[0] ?? keywords.get('key');
      const t = key ? template(key, params, locals) : undefined;
      if (!t) continue;
      if (method !== 'set') { summary.reads.push(t); continue; }
      const value = positional[1] ?? keywords.get('value');
      const calls = value ? [value, ...value.descendantsOfType('call')].filter(c => c?.type === 'call') : [];
      if (value && !calls.some(c => !MARKER_CALL.test(dottedName(c!.childForFieldName('function'))))) summary.claims.push(t);
    }
    return summary.reads.length || summary.claims.length ? summary : undefined;
  }
}


/** `$0`, `$1` … replaced by the call's arguments. */
export function instantiate(t: string, args: SyntaxNode[]): string | undefined {
  let ok = true;
  const text = t.replace(/\$(\d+)/g, (_, i) => { const a = args[Number(i)]; if (!a) { ok = false; return ''; } return norm(a); });
  return ok ? text : undefined;
}
