// Orders a task's quick fixes by the workspace's Celery pool. Under prefork (and solo) every
// process runs one task at a time with its own copy of module state: a threading.Lock excludes
// nobody, so fixes that reach every process (Redis, the database, a manager lock) come first and the
// lock comes last with that caveat. Under threads/gevent/eventlet the lock is the fix. Adds the
// Redis counter rewrite (`x += 1` → `x = r.incr("x")`) where the module already talks to Redis.
import { ModuleFacts } from './moduleFacts';
import { SourceLines } from './fixes';
import { QuickFix, TextEdit } from './types';
import { RawFinding } from './walker';
import { PoolInfo, isProcessPool } from './workerPool';

const CAVEAT = 'threads/gevent/eventlet pools only: prefork processes do not share it';

export function orderFixesForPool(fixes: QuickFix[], f: RawFinding, src: SourceLines, facts: ModuleFacts, pool: PoolInfo): QuickFix[] {
  const suppress = fixes.filter(x => x.title.startsWith('Suppress '));
  const rest = fixes.filter(x => !suppress.includes(x));
  const counter = redisCounterFix(f, src, facts);
  let out: QuickFix[];
  if (isProcessPool(pool.pool)) {
    const shared = [...(counter ? [counter] : []), ...rest.filter(x => x.scope === 'shared')];
    const local = rest.filter(x => x.scope === 'process').map(x => ({ ...x, title: `${x.title} — ${CAVEAT}` }));
    out = [...shared, ...rest.filter(x => !x.scope), ...local];
  } else {
    // The lock (or the rewrite the analysis prefers, e.g. setdefault) stays first; Redis after it.
    out = [...rest, ...(counter ? [counter] : [])];
  }
  return [...out, ...suppress].map((x, i) => ({ ...x, preferred: i === 0 && !x.title.startsWith('Suppress ') }));
}

/**
 * WL101 on a module-level int counter (`name += k`, `name -= k`, `name = name + k`, defined as `name = 0`):
 * keep it in Redis instead, through the module's Redis client or one made from the Celery app's
 * Redis broker URL. Undefined when the module has neither.
 */
export function redisCounterFix(f: RawFinding, src: SourceLines, facts: ModuleFacts): QuickFix | undefined {
  const name = f.state.globalName;
  if (f.rule !== 'WL101' || f.pattern !== 'rmw' || !name || f.write.start.line !== f.write.end.line) return undefined;
  const sym = facts.symbols.get(name);
  if (!sym || sym.kind !== 'var' || !new RegExp(`^${name}\\s*=\\s*0\\s*(#.*)?$`).test(src.lines[sym.endLine] ?? '')) return undefined;
  const lineNo = f.write.start.line;
  const text = src.lines[lineNo];
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^(\\s*)${esc}\\s*([+-])=\\s*(\\d+|[A-Za-z_]\\w*)\\s*(#.*)?$`).exec(text)
    ?? new RegExp(`^(\\s*)${esc}\\s*=\\s*${esc}\\s*([+-])\\s*(\\d+|[A-Za-z_]\\w*)\\s*(#.*)?$`).exec(text);
  if (!m || m[3] === name) return undefined;
  const [, indent, sign, amount] = m;
  const client = redisClient(src, facts, sym.endLine);
  if (!client) return undefined;
  const key = JSON.stringify(name);
  const call = `${client.name}.${sign === '+' ? 'incr' : 'decr'}(${amount === '1' ? key : `${key}, ${amount}`})`;
  const edits: TextEdit[] = [...client.edits, {
    range: { start: { line: lineNo, character: 0 }, end: { line: lineNo, character: text.length } },
    newText: `${indent}${name} = ${call}`,
  }];
  return {
    title: `Keep \`${name}\` in Redis: \`${call}\` (${client.made ? 'a client of the Celery broker\'s Redis; ' : ''}one counter for every pool process)`,
    edits, scope: 'shared',
  };
}

function redisClient(src: SourceLines, facts: ModuleFacts, afterLine: number): { name: string; edits: TextEdit[]; made: boolean } | undefined {
  const existing = [...facts.symbols.values()].find(s => s.store === 'redis' && (s.kind === 'var' || s.kind === 'instance'));
  if (existing) return { name: existing.name, edits: [], made: false };
  const text = src.lines.join('\n');
  const app = [...facts.symbols.values()].find(s => s.ctor !== undefined && /(^|\.)Celery$/.test(s.ctor));
  if (!app || !/["']rediss?:\/\//.test(text)) return undefined;
  let name = '_redis', i = 2;
  while (facts.symbols.has(name)) name = `_redis${i++}`;
  const at = (line: number) => ({ start: { line, character: 0 }, end: { line, character: 0 } });
  const place = Math.max(afterLine, app.endLine) + 1;
  const edits: TextEdit[] = [];
  if (!facts.symbols.has('redis')) {
    const importAt = facts.lastPlainImportLine >= 0 ? facts.lastPlainImportLine + 1 : facts.lastImportLine >= 0 ? facts.lastImportLine + 1 : facts.firstCodeLine;
    edits.push({ range: at(importAt), newText: `import redis${src.eol}` });
  }
  edits.push({ range: at(place), newText: `${name} = redis.Redis.from_url(${app.name}.conf.broker_url)  # shared by every pool process${src.eol}` });
  return { name, edits, made: true };
}
