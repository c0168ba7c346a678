// One-sentence messages: what is shared, and what happens under each way the code runs concurrently.
import { Context } from './contexts';
import { RULES } from './rules';
import { RawFinding } from './walker';

const PREFORK = 'with prefork each child process has its own copy, so the value is never global — keep it in Redis or the database';

function line(n: number): string { return `line ${n + 1}`; }

export function messageFor(f: RawFinding, ctx: Context): string {
  if (f.message) return f.message;
  const what = f.state.what;
  const readLine = line(f.read.start.line);
  const entry = ctx.entry ? `\`${ctx.entry}\`` : 'this function';
  const shown = f.state.display.includes('[') ? `\`${f.state.display}\` (${what})` : what;
  switch (f.rule) {
    case 'WL101':
      if (f.pattern === 'wait') {
        const who = ctx.kind === 'async' ? 'coroutines' : ctx.kind === 'thread' ? `threads running ${entry}` : 'concurrent tasks (threads pool, and gevent/eventlet since it blocks)';
        return `${capital(shown)} is read on ${readLine}, \`${f.wait?.call ?? 'a blocking call'}\` waits on ${line(f.wait?.line ?? f.read.start.line)}, and it is written here: ${who} all read the same old value during the wait and act on it together (a throttle lets them all through) — hold a lock from the read to the write, or keep it in Redis${ctx.kind === 'celery' ? ` (${PREFORK.replace(/^with prefork /, 'with prefork ')})` : ''}.`;
      }
      if (ctx.kind === 'async') return `Read-modify-write of ${shown} across the await on ${line(f.awaitLine ?? f.read.start.line)}: another coroutine can update it there and this write discards that update.`;
      if (ctx.kind === 'thread') return `Read-modify-write of ${shown} without a lock: threads running ${entry} at the same time lose updates.`;
      return `Read-modify-write of ${shown} without a lock: with the threads pool concurrent tasks lose updates ${f.callsBetween
        ? '(with gevent/eventlet too, if the calls between the read and the write do I/O)'
        : '(gevent/eventlet switch only at blocking I/O, so there this line is safe)'}, and ${PREFORK}.`;
    case 'WL102': {
      if (f.pattern === 'claim') {
        const who = ctx.kind === 'async' ? 'coroutines' : ctx.kind === 'thread' ? `threads running ${entry}` : 'concurrent tasks';
        return `Check-then-act on ${shown} without a lock: ${who} can all pass the check on ${readLine} before any of them adds the item here, so the work this check guards runs more than once${ctx.kind === 'celery' ? `, and ${PREFORK}` : ''}.`;
      }
      if (ctx.kind === 'async') return `Check-then-act on ${shown} across the await on ${line(f.awaitLine ?? f.read.start.line)}: another coroutine can act between the check on ${readLine} and this line.`;
      if (ctx.kind === 'thread') return `Check-then-act on ${shown} without a lock: threads running ${entry} can all pass the check on ${readLine} before any of them acts.`;
      return `Check-then-act on ${shown} without a lock: with the threads pool concurrent tasks can all pass the check on ${readLine} before any acts ${f.callsBetween
        ? '(with gevent/eventlet too, when the calls in between do I/O)'
        : '(gevent/eventlet switch only at blocking I/O, so there it is safe)'}, and ${PREFORK}.`;
    }
    case 'WL103': {
      const lock = f.lock ? `\`${f.lock}\`` : 'a lock';
      const who = ctx.kind === 'async' ? 'another coroutine' : ctx.kind === 'thread' ? 'another thread' : 'another task';
      return `${capital(what)} is read under ${lock} on ${readLine}, the lock is released, and it is written under a second acquisition here: ${who} can write in between and this write undoes it — read and write in one \`with\` block${ctx.kind === 'celery' ? ` (and with prefork the value is per process: use Redis or the database)` : ''}.`;
    }
    case 'WL104':
      return f.pattern === 'check'
        ? `${capital(what)} is checked on ${readLine} and then written: concurrent workers (every pool, prefork included) can all pass the check — use SET NX (\`set(..., nx=True)\`), a Lua script or a lock.`
        : `${capital(what)} is read on ${readLine} and written back here: concurrent workers (every pool, prefork included) interleave and lose updates — use INCR/INCRBY/HINCRBY, a Lua script or a lock.`;
    case 'WL105':
      if (f.helper) return `\`${f.state.display.split('.')[0]}\` is read from the database on ${readLine} and passed to \`${f.helper}\`, which changes \`${f.state.display}\` from its old value and saves it: concurrent workers (every pool, prefork included) overwrite each other's change — update with an F() expression in the helper, or fetch with select_for_update() inside transaction.atomic() here.`;
      return `\`${f.state.display}\` is read from the database on ${readLine}, changed in Python and saved: concurrent workers (every pool, prefork included) overwrite each other's change — use an F() expression, or select_for_update() inside transaction.atomic().`;
    case 'WL107':
      return f.pattern === 'check'
        ? `${capital(what)} is checked on ${readLine} and then set here: every worker process shares the cache, so concurrent runs can all pass the check before any sets it (a get-then-set lock does not exclude) — claim it with \`cache.add(...)\`, which is atomic and true only for the first caller.`
        : `${capital(what)} is read on ${readLine} and set back here: every worker process shares the cache, so concurrent runs overwrite each other's update — use \`cache.incr\`/\`cache.decr\` (after \`cache.add(key, 0)\`) for counters, or a lock from \`cache.add\`.`;
    case 'WL108':
      return `A \`${f.state.display}\` row is created here after \`exists()\` on ${readLine} said it was missing: concurrent workers (every pool, prefork included) all see it missing and create duplicates — use \`get_or_create()\` with a unique constraint on the lookup fields (without one, get_or_create can duplicate too).`;
    case 'WL109':
      return f.pattern === 'check' || f.pattern === 'claim'
        ? `Check-then-act on ${shown}: the check on ${readLine} and this change are separate calls to the manager process, and every process (and thread) using the proxy can act in between — hold a lock from the same manager (\`manager.Lock()\`) around both, or use Redis / the database; a \`threading.Lock\` does not reach other processes.`
        : `Read-modify-write of ${shown}: the read on ${readLine} and this write are separate calls to the manager process, so concurrent processes (and threads) lose updates — hold a lock from the same manager (\`manager.Lock()\`) around both, or use Redis INCR / a database F() update; a \`threading.Lock\` does not reach other processes.`;
    case 'WL110': case 'WL111': case 'WL112': case 'WL113':
      return RULES[f.rule].description;
    case 'WL106':
      return `${capital(what)} is ${f.pattern === 'check' ? 'checked' : 'read'} on ${readLine} and written here: concurrent workers overwrite each other's changes — hold a file lock (fcntl.flock), write a temp file and rename it, or keep the data in a database.`;
  }
}

export function relatedMessage(f: RawFinding): string {
  switch (f.pattern) {
    case 'check': return `checked here: ${f.state.display}`;
    case 'split': return `read here under the first acquisition of ${f.lock ?? 'the lock'}`;
    case 'orm': return 'row fetched here';
    case 'exists': return 'checked with exists() here';
    case 'wait': return `read here: ${f.state.display}`;
    case 'claim': return `checked here: ${f.state.display}`;
    case 'celery': return f.relatedMessage ?? 'related';
    default: return `read here: ${f.state.display}`;
  }
}

function capital(s: string): string { return s.charAt(0).toUpperCase() + s.slice(1); }
