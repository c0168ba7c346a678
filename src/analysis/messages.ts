// One-sentence messages: what is shared, and what happens under each way the code runs concurrently.
import { Context } from './contexts';
import { RawFinding } from './walker';

const PREFORK = 'with prefork each child process has its own copy, so the value is never global — keep it in Redis or the database';

function line(n: number): string { return `line ${n + 1}`; }

export function messageFor(f: RawFinding, ctx: Context): string {
  const what = f.state.what;
  const readLine = line(f.read.start.line);
  const entry = ctx.entry ? `\`${ctx.entry}\`` : 'this function';
  const shown = f.state.display.includes('[') ? `\`${f.state.display}\` (${what})` : what;
  switch (f.rule) {
    case 'WL101':
      if (ctx.kind === 'async') return `Read-modify-write of ${shown} across the await on ${line(f.awaitLine ?? f.read.start.line)}: another coroutine can update it there and this write discards that update.`;
      if (ctx.kind === 'thread') return `Read-modify-write of ${shown} without a lock: threads running ${entry} at the same time lose updates.`;
      return `Read-modify-write of ${shown} without a lock: with the threads pool concurrent tasks lose updates ${f.callsBetween
        ? '(with gevent/eventlet too, if the calls between the read and the write do I/O)'
        : '(gevent/eventlet switch only at blocking I/O, so there this line is safe)'}, and ${PREFORK}.`;
    case 'WL102': {
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
      return `\`${f.state.display}\` is read from the database on ${readLine}, changed in Python and saved: concurrent workers (every pool, prefork included) overwrite each other's change — use an F() expression, or select_for_update() inside transaction.atomic().`;
    case 'WL106':
      return `${capital(what)} is ${f.pattern === 'check' ? 'checked' : 'read'} on ${readLine} and written here: concurrent workers overwrite each other's changes — hold a file lock (fcntl.flock), write a temp file and rename it, or keep the data in a database.`;
  }
}

export function relatedMessage(f: RawFinding): string {
  switch (f.pattern) {
    case 'check': return `checked here: ${f.state.display}`;
    case 'split': return `read here under the first acquisition of ${f.lock ?? 'the lock'}`;
    case 'orm': return 'row fetched here';
    default: return `read here: ${f.state.display}`;
  }
}

function capital(s: string): string { return s.charAt(0).toUpperCase() + s.slice(1); }
