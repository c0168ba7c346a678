// Celery semantics no data-flow walk sees: tasks sent inside an open transaction (WL110), locks
// that expire before the task's time limit (WL111), a broker visibility timeout shorter than a
// task (WL112), threads and clients created at import time in modules the worker imports before
// it forks its prefork children (WL113). Module-wide passes over the tree, each gated by a cheap
// text test so an edit in a big file costs nothing when the file has none of these shapes.
import type { SyntaxNode } from './python';
import { FunctionInfo, ModuleFacts, isTaskDecorator } from './moduleFacts';
import { callArgs, dottedName, lastName, rangeOf, statements, unparen } from './syntax';
import { RawFinding } from './walker';

/** A value read from the app's static configuration, and where. */
export interface ConfigValue { seconds: number; file: string; line: number }

/** Celery settings read statically from the project's files (settings.py, celery.py, celeryconfig.py). */
export interface CeleryConfig {
  visibilityTimeout?: ConfigValue;
  taskTimeLimit?: ConfigValue;
}

// `60 * 60 * 2`, `3600`, `7_200` — integer products only; anything else is not static.
const INT_EXPR = String.raw`\d[\d_]*(?:\s*\*\s*\d[\d_]*)*`;
const VISIBILITY = new RegExp(String.raw`["']?visibility_timeout["']?\s*[:=]\s*(${INT_EXPR})\b`, 'g');
const TIME_LIMIT = new RegExp(String.raw`\b(?:task_time_limit|CELERY_TASK_TIME_LIMIT|CELERYD_TASK_TIME_LIMIT|TASK_TIME_LIMIT)\b["']?\s*[:=]\s*(${INT_EXPR})\b`, 'g');

function evalInt(expr: string): number {
  return expr.split('*').reduce((p, x) => p * Number(x.trim().replace(/_/g, '')), 1);
}

function lineAt(text: string, index: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Static Celery settings in one file (the smallest visibility timeout, the largest time limit). */
export function celeryConfigOf(text: string, file: string): CeleryConfig {
  const out: CeleryConfig = {};
  if (!/visibility_timeout|TIME_LIMIT|time_limit/.test(text)) return out;
  for (const m of text.matchAll(VISIBILITY)) {
    const v = { seconds: evalInt(m[1]), file, line: lineAt(text, m.index ?? 0) };
    if (!out.visibilityTimeout || v.seconds < out.visibilityTimeout.seconds) out.visibilityTimeout = v;
  }
  for (const m of text.matchAll(TIME_LIMIT)) {
    const v = { seconds: evalInt(m[1]), file, line: lineAt(text, m.index ?? 0) };
    if (!out.taskTimeLimit || v.seconds > out.taskTimeLimit.seconds) out.taskTimeLimit = v;
  }
  return out;
}

export function mergeConfig(a: CeleryConfig, b: CeleryConfig): CeleryConfig {
  const out: CeleryConfig = { ...a };
  if (b.visibilityTimeout && (!out.visibilityTimeout || b.visibilityTimeout.seconds < out.visibilityTimeout.seconds)) out.visibilityTimeout = b.visibilityTimeout;
  if (b.taskTimeLimit && (!out.taskTimeLimit || b.taskTimeLimit.seconds > out.taskTimeLimit.seconds)) out.taskTimeLimit = b.taskTimeLimit;
  return out;
}

const SEND = new Set(['delay', 'apply_async', 'send_task']);
const DB_WRITE = /\.(save|create|update|delete|bulk_create|bulk_update|get_or_create|update_or_create|select_for_update|execute|executemany)\(/;
const CLIENTS = /^(pymongo\.MongoClient|MongoClient|motor\.\w+\.AsyncIOMotorClient|psycopg2?\.connect|psycopg\.connect|sqlite3\.connect|MySQLdb\.connect|pymysql\.connect|mysql\.connector\.connect|cx_Oracle\.connect|pika\.BlockingConnection|socket\.create_connection|grpc\.(insecure|secure)_channel)$/;
const CLIENT_MODULES = /^(pymongo|psycopg2?|psycopg|sqlite3|MySQLdb|pymysql|pika|socket|grpc)$/;

function finding(rule: RawFinding['rule'], node: SyntaxNode, related: SyntaxNode, display: string, message: string, relatedMessage: string): RawFinding {
  return {
    rule, pattern: 'celery', state: { display, what: display, root: `celery:${rule}:${display}` },
    write: rangeOf(node), read: rangeOf(related), callsBetween: false, inAsync: false, message, relatedMessage,
  };
}

/** Calls under `node` that run when it runs (not in nested defs, lambdas or classes). */
function callsIn(node: SyntaxNode, out: SyntaxNode[] = []): SyntaxNode[] {
  for (const c of node.namedChildren) {
    if (!c || c.type === 'function_definition' || c.type === 'lambda' || c.type === 'class_definition' || c.type === 'decorated_definition') continue;
    if (c.type === 'call') out.push(c);
    callsIn(c, out);
  }
  return out;
}

function isAtomic(expr: SyntaxNode): boolean {
  const e = unparen(expr);
  return /(^|\.)atomic$/.test(dottedName(e.type === 'call' ? e.childForFieldName('function') : e));
}

function inLoop(n: SyntaxNode, stop: SyntaxNode): boolean {
  for (let p = n.parent; p && p.id !== stop.id; p = p.parent) {
    if (['for_statement', 'while_statement', 'list_comprehension', 'generator_expression', 'set_comprehension', 'dictionary_comprehension'].includes(p.type)) return true;
  }
  return false;
}

// ---- WL110 ------------------------------------------------------------------------------------

function sentInsideAtomic(fn: FunctionInfo, facts: ModuleFacts, text: string, out: RawFinding[]): void {
  const body = fn.node.childForFieldName('body');
  if (!body) return;
  const decorated = fn.decorators.find(isAtomic);
  const regions: { block: SyntaxNode; opener: SyntaxNode }[] = decorated ? [{ block: body, opener: decorated }] : [];
  if (!decorated) {
    for (const w of body.descendantsOfType('with_statement')) {
      if (!w) continue;
      const items = w.namedChildren.find(c => c?.type === 'with_clause')?.namedChildren ?? [];
      const atomicItem = items.find(i => { const v = i?.childForFieldName('value'); return !!v && isAtomic(v.type === 'as_pattern' ? v.namedChild(0)! : v); });
      const block = w.childForFieldName('body');
      if (atomicItem && block && nearestDef(w)?.id === fn.node.id) regions.push({ block, opener: atomicItem });
    }
  }
  const seen = new Set<number>();
  for (const { block, opener } of regions) {
    // Only a transaction that writes makes the task early: a read-only one (often opened just to
    // pin a replica, `atomic(using="replica")`) holds nothing the task could miss.
    if (/using\s*=[^)]*(replica|read)/i.test(opener.text) || !DB_WRITE.test(block.text)) continue;
    for (const call of callsIn(block)) {
      if (seen.has(call.id)) continue;
      seen.add(call.id);
      const fnNode = call.childForFieldName('function');
      if (fnNode?.type !== 'attribute') continue;
      const method = fnNode.childForFieldName('attribute')?.text ?? '';
      if (!SEND.has(method)) continue;
      const recv = fnNode.childForFieldName('object')!;
      // send_task belongs to the app; delay/apply_async to tasks and signatures.
      if (method === 'send_task' && !/app|celery/i.test(recv.text)) continue;
      const name = method === 'send_task' ? (callArgs(call).positional[0]?.text ?? 'a task') : recv.text;
      const f = finding('WL110', call, opener, name,
        `\`${name}\` is sent with \`${method}()\` inside an open \`transaction.atomic()\` (line ${opener.startPosition.row + 1}): a worker can run it before the transaction commits and read rows that are not there yet — or run it for a transaction that is rolled back. Send it from \`transaction.on_commit(...)\`${method === 'send_task' ? '' : ` (or \`${method}_on_commit\`, Celery 5.4+)`}.`,
        'transaction opened here');
      const stmt = call.parent?.type === 'expression_statement' ? call.parent : undefined;
      if (stmt) {
        const bound = facts.symbols.has('transaction') ? 'transaction' : undefined;
        const onCommit = bound ?? 'transaction';
        let wrapped: string;
        const imports: { name: string; line: string }[] = bound ? [] : [{ name: 'transaction', line: 'from django.db import transaction' }];
        if (inLoop(call, block)) {
          // A lambda would see the loop variable's last value when the commit runs: bind the arguments now.
          const args = call.childForFieldName('arguments')?.text.slice(1, -1).trim() ?? '';
          wrapped = `${onCommit}.on_commit(functools.partial(${fnNode.text}${args ? `, ${args}` : ''}))`;
          if (!facts.imports.has('functools=functools')) imports.push({ name: 'functools', line: 'import functools' });
        } else {
          wrapped = `${onCommit}.on_commit(lambda: ${call.text})`;
        }
        f.rewrite = { title: `Send it on commit: \`${onCommit}.on_commit(...)\``, edits: [{ range: rangeOf(call), newText: wrapped }] };
        if (imports.length) f.imports = imports;
        if (method !== 'send_task') {
          const attr = fnNode.childForFieldName('attribute')!;
          f.moreFixes = [{ title: `Use \`${method}_on_commit\` (Celery 5.4+, Django task class)`, edits: [{ range: rangeOf(attr), newText: `${method}_on_commit` }] }];
        }
      }
      out.push(f);
    }
  }
  void text;
}

function nearestDef(n: SyntaxNode): SyntaxNode | null {
  for (let p = n.parent; p; p = p.parent) if (p.type === 'function_definition' || p.type === 'lambda') return p;
  return null;
}

// ---- WL111, WL112 -----------------------------------------------------------------------------

/** Module constants bound to a static integer (`LOCK_TIMEOUT = 60 * 5`). */
function intConstants(root: SyntaxNode): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of statements(root)) {
    const a = s.type === 'expression_statement' ? s.namedChild(0) : null;
    if (a?.type !== 'assignment') continue;
    const left = a.childForFieldName('left'), right = a.childForFieldName('right');
    if (left?.type === 'identifier' && right && new RegExp(`^${INT_EXPR}$`).test(right.text)) out.set(left.text, evalInt(right.text));
  }
  return out;
}

function intValue(n: SyntaxNode | undefined, consts: Map<string, number>): number | undefined {
  if (!n) return undefined;
  const t = n.text.trim();
  if (new RegExp(`^${INT_EXPR}$`).test(t)) return evalInt(t);
  if (n.type === 'identifier') return consts.get(t);
  return undefined;
}

interface TaskLimit { seconds: number; node?: SyntaxNode; source: string }

function taskLimit(fn: FunctionInfo, consts: Map<string, number>, config: CeleryConfig): TaskLimit | undefined {
  for (const d of fn.decorators) {
    if (!isTaskDecorator(d).task) continue;
    if (d.type !== 'call') break;
    const kw = callArgs(d).keywords;
    for (const name of ['time_limit', 'soft_time_limit']) {
      const v = intValue(kw.get(name), consts);
      if (v !== undefined) return { seconds: v, node: kw.get(name)!.parent ?? kw.get(name)!, source: `${name}=${v}` };
    }
    break;
  }
  if (config.taskTimeLimit && fn.decorators.some(d => isTaskDecorator(d).task)) {
    return { seconds: config.taskTimeLimit.seconds, source: `task_time_limit ${config.taskTimeLimit.seconds} s (${config.taskTimeLimit.file}:${config.taskTimeLimit.line + 1})` };
  }
  return undefined;
}

function lockTimeouts(fn: FunctionInfo, limit: TaskLimit, consts: Map<string, number>, out: RawFinding[]): void {
  const body = fn.node.childForFieldName('body');
  if (!body) return;
  for (const call of callsIn(body)) {
    const callee = dottedName(call.childForFieldName('function'));
    const last = lastName(callee);
    const { positional, keywords } = callArgs(call);
    let timeout: SyntaxNode | undefined, what = '';
    if (last === 'lock' && callee.includes('.')) { timeout = keywords.get('timeout') ?? positional[1]; what = `Redis lock \`${callee}(...)\``; }
    else if (last === 'Lock' && /redis|RedLock|redis_lock/i.test(callee + (positional[0]?.text ?? ''))) { timeout = keywords.get('expire') ?? keywords.get('timeout'); what = `lock \`${callee}(...)\``; }
    else if (last === 'add' && /cache/i.test(callee)) { timeout = keywords.get('timeout') ?? positional[2]; what = `cache claim \`${callee}(...)\``; }
    if (!timeout) continue;
    const seconds = intValue(timeout, consts);
    if (seconds === undefined || seconds <= 0 || seconds >= limit.seconds) continue;
    const f = finding('WL111', timeout, limit.node ?? call, what,
      `The ${what} expires after ${seconds} s, but this task may run for ${limit.source}: a run that takes longer loses the lock while it still works, and a second run enters the "exclusive" section — make the timeout at least the time limit (or extend the lock while working).`,
      `time limit: ${limit.source}`);
    f.rewrite = { title: `Set the lock timeout to the task's time limit (${limit.seconds} s)`, edits: [{ range: rangeOf(timeout), newText: String(limit.seconds) }] };
    out.push(f);
  }
}

function visibility(fn: FunctionInfo, limit: TaskLimit | undefined, config: CeleryConfig, consts: Map<string, number>, out: RawFinding[]): void {
  const vt = config.visibilityTimeout;
  if (!vt) return;
  const where = `${vt.file}:${vt.line + 1}`;
  if (limit?.node && limit.seconds > vt.seconds) {
    out.push(finding('WL112', limit.node, limit.node, `${fn.qualName} ${limit.source}`,
      `This task may run for ${limit.source.replace('=', ' ')} s, longer than the broker's visibility_timeout of ${vt.seconds} s (${where}): the broker hands the unacknowledged message to another worker while this one still runs it (with acks_late, or whenever it is reserved), so the task runs twice — raise visibility_timeout above the longest time limit.`,
      `visibility_timeout ${vt.seconds} s is set in ${where}`));
  }
  const body = fn.node.childForFieldName('body');
  if (!body || !/countdown|eta/.test(body.text)) return;
  for (const call of callsIn(body)) {
    if (lastName(dottedName(call.childForFieldName('function'))) !== 'apply_async' && call.childForFieldName('function')?.childForFieldName('attribute')?.text !== 'apply_async') continue;
    const cd = callArgs(call).keywords.get('countdown');
    const seconds = intValue(cd, consts);
    if (!cd || seconds === undefined || seconds <= vt.seconds) continue;
    out.push(finding('WL112', cd.parent ?? cd, cd, `countdown=${seconds}`,
      `This task is scheduled ${seconds} s ahead (countdown), longer than the broker's visibility_timeout of ${vt.seconds} s (${where}): the Redis/SQS broker redelivers the waiting message to another worker after ${vt.seconds} s, so it runs twice — raise visibility_timeout above the longest countdown/ETA, or schedule far-future work with celery beat or a database row.`,
      `visibility_timeout ${vt.seconds} s is set in ${where}`));
  }
}

// ---- WL113 ------------------------------------------------------------------------------------

/** Top-level statements that run at import (module body, its if/try/with blocks; not `if __name__ == "__main__":`). */
function importTimeStatements(root: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  const visit = (stmts: SyntaxNode[]) => {
    for (const s of stmts) {
      if (s.type === 'function_definition' || s.type === 'class_definition' || s.type === 'decorated_definition') continue;
      if (s.type === 'if_statement' && /__name__\s*==\s*["']__main__["']/.test(s.childForFieldName('condition')?.text ?? '')) continue;
      if (['if_statement', 'try_statement', 'with_statement'].includes(s.type)) {
        for (const c of s.namedChildren) {
          if (!c) continue;
          if (c.type === 'block') visit(statements(c));
          else if (['elif_clause', 'else_clause', 'except_clause', 'finally_clause'].includes(c.type)) for (const b of c.namedChildren) if (b?.type === 'block') visit(statements(b));
        }
        continue;
      }
      out.push(s);
    }
  };
  visit(statements(root));
  return out;
}

function importTime(root: SyntaxNode, facts: ModuleFacts, out: RawFinding[]): void {
  const threads = new Set<string>();
  for (const s of importTimeStatements(root)) {
    for (const call of callsIn(s)) {
      const fnNode = call.childForFieldName('function');
      const callee = dottedName(fnNode);
      const last = fnNode?.type === 'attribute' ? fnNode.childForFieldName('attribute')?.text ?? '' : callee;
      if (last === 'Thread' || last === 'Timer') {
        const a = call.parent?.type === 'assignment' ? call.parent.childForFieldName('left') : null;
        if (a?.type === 'identifier') threads.add(a.text);
      }
      if (last === 'start' && fnNode?.type === 'attribute') {
        const recv = unparen(fnNode.childForFieldName('object')!);
        const inline = recv.type === 'call' && /(^|\.)(Thread|Timer)$/.test(dottedName(recv.childForFieldName('function')));
        if (inline || (recv.type === 'identifier' && threads.has(recv.text))) {
          out.push(finding('WL113', call, call, recv.type === 'identifier' ? recv.text : 'a thread',
            `A thread is started when this module is imported — in the Celery main process, before the prefork pool forks its children: the children do not inherit the thread, so its work never happens there (and a lock it holds at the fork stays locked in every child). Start it per process in a \`worker_process_init\` handler.`,
            'thread started here'));
        }
        continue;
      }
      let client = CLIENTS.test(callee);
      if (!client && !callee.includes('.') && /^(MongoClient|connect|BlockingConnection|create_connection)$/.test(callee)) {
        const sym = facts.symbols.get(callee);
        client = sym?.kind === 'imported' && CLIENT_MODULES.test((sym.ref ?? '').split('.')[0]);
      }
      if (client) {
        out.push(finding('WL113', call, call, callee,
          `\`${callee}(...)\` opens a connection when this module is imported — in the Celery main process, before the prefork pool forks: every child inherits the same socket and their requests interleave on it (corrupt replies, "lost synchronization with server"). Open it per process: in a \`worker_process_init\` handler or lazily on first use.`,
          'connection opened here'));
      }
    }
  }
}

/** What the per-function passes need from the whole module (cheap text tests and constants). */
export interface CeleryModule { sends: boolean; limits: boolean; consts: Map<string, number>; key: string }

export function celeryModule(root: SyntaxNode, text: string, config: CeleryConfig): CeleryModule {
  const sends = /\.(delay|apply_async|send_task)\(/.test(text) && /atomic/.test(text);
  const hasTasks = /shared_task|\.task\b|periodic_task/.test(text);
  const limits = hasTasks && (/time_limit|countdown/.test(text) || !!config.taskTimeLimit || !!config.visibilityTimeout);
  const consts = limits ? intConstants(root) : new Map<string, number>();
  return { sends, limits, consts, key: `${sends}|${limits}|${JSON.stringify([...consts])}|${JSON.stringify(config)}` };
}

/** WL110-WL112 findings of one function (`fnText`: its statement with decorators). Cached by the analyzer. */
export function celeryFunctionFindings(fn: FunctionInfo, fnText: string, facts: ModuleFacts, mod: CeleryModule, config: CeleryConfig): RawFinding[] {
  const out: RawFinding[] = [];
  if (mod.sends && /atomic/.test(fnText) && /\.(delay|apply_async|send_task)\(/.test(fnText)) sentInsideAtomic(fn, facts, fnText, out);
  if (mod.limits) {
    const limit = taskLimit(fn, mod.consts, config);
    if (limit && /\.(lock|add)\(|Lock\(/.test(fnText)) lockTimeouts(fn, limit, mod.consts, out);
    visibility(fn, limit, config, mod.consts, out);
  }
  return out;
}

/** WL113: module-level statements (run at import). */
export function celeryModuleFindings(root: SyntaxNode, text: string, facts: ModuleFacts): RawFinding[] {
  const out: RawFinding[] = [];
  if (/shared_task|\.task\b|periodic_task|\bCelery\(/.test(text)) importTime(root, facts, out);
  return out;
}
