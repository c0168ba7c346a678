// Pure: turns a process table (+ agent discovery files) into the Workers view's tree:
// Celery main processes with their pool children beneath, other agent-bearing Python processes,
// and Node processes with an inspector. No I/O here; src/cdp/procScan.ts reads /proc.
import type { DiscoveryFile, PoolKind, ProcessRole } from '../protocol/agent';

export interface ProcessEntry {
  pid: number;
  ppid: number;
  uid: number;
  comm: string;          // /proc/PID/comm or the name inside stat's parentheses
  argv: string[];        // /proc/PID/cmdline split on NUL
  rssBytes: number;
  exe: string | null;    // readlink /proc/PID/exe when permitted
}

export type WorkerKind = 'celery' | 'python' | 'node';
export type WorkerState = 'attached' | 'agent' | 'injectable' | 'not-permitted' | 'inspector';

export interface WorkerRow {
  pid: number;
  ppid: number;
  kind: WorkerKind;
  role: ProcessRole;
  /** main | ForkPoolWorker-N | script name */
  roleLabel: string;
  pool: PoolKind | null;
  workerName: string | null;
  rssBytes: number;
  state: WorkerState;
  discovery: DiscoveryFile | null;
  /** ws/host:port for Node inspectors given on the command line (`--inspect=127.0.0.1:9229`). */
  inspectorPort: number | null;
  children: WorkerRow[];
  commandLine: string;
}

export interface ClassifyContext {
  selfUid: number;
  attachedPids: ReadonlySet<number>;
  /** Pids we must not list (the extension host itself and its helpers). */
  ignorePids: ReadonlySet<number>;
}

const PYTHON_RE = /(^|\/)python[0-9.]*$/;

export function isPython(p: ProcessEntry): boolean {
  return PYTHON_RE.test(p.argv[0] ?? '') || (p.exe !== null && PYTHON_RE.test(p.exe)) || /^python/.test(p.comm);
}

/** `celery ... worker ...` run as a script, as `python -m celery`, or renamed by setproctitle. */
export function isCeleryWorker(p: ProcessEntry): boolean {
  const a = p.argv;
  if (a.length === 1 && /^\[celeryd: .*\]/.test(a[0])) return true; // setproctitle
  const celeryAt = a.findIndex((x, i) => /(^|\/)celery$/.test(x) || (x === 'celery' && a[i - 1] === '-m'));
  return celeryAt >= 0 && a.slice(celeryAt + 1).includes('worker');
}

const NODE_RE = /(^|\/)node$/;

export function isNode(p: ProcessEntry): boolean {
  return NODE_RE.test(p.argv[0] ?? '') || (p.exe !== null && NODE_RE.test(p.exe)) || p.comm === 'node';
}

/** What a process is, for attaching: a Python process (the agent's kind), a Node process, or neither. */
export function processKind(p: ProcessEntry): 'python' | 'node' | null {
  if (isPython(p) || isCeleryWorker(p)) return 'python';
  if (isNode(p)) return 'node';
  return null;
}

/** The script a process runs: the first argument that is not an option ("worker.js", "app.py"). */
export function scriptName(p: ProcessEntry): string | null {
  return p.argv.slice(1).find(a => !a.startsWith('-')) ?? null;
}

export function nodeInspectorPort(p: ProcessEntry): number | null {
  if (!isNode(p)) return null;
  for (const arg of p.argv) {
    const m = /^--inspect(?:-brk)?(?:=(?:[^:]*:)?(\d+))?$/.exec(arg);
    if (m) return m[1] !== undefined ? Number(m[1]) : 9229;
  }
  return null;
}

/** Role label of a pool child without an agent: Nth child by pid order, as billiard names them. */
function childLabel(index: number): string {
  return `ForkPoolWorker-${index + 1}`;
}

function poolFromArgv(argv: string[]): PoolKind | null {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^(?:-P|--pool)(?:=(.+))?$/.exec(a);
    if (m) {
      const v = m[1] ?? argv[i + 1];
      if (v === 'prefork' || v === 'threads' || v === 'gevent' || v === 'eventlet' || v === 'solo') return v;
      return 'custom';
    }
    if (/^-P\w+$/.test(a)) return poolFromArgv(['-P', a.slice(2)]);
  }
  return isCeleryWorkerArgv(argv) ? 'prefork' : null;
}

function isCeleryWorkerArgv(argv: string[]): boolean {
  return isCeleryWorker({ pid: 0, ppid: 0, uid: 0, comm: '', argv, rssBytes: 0, exe: null });
}

function stateOf(p: ProcessEntry, d: DiscoveryFile | null, ctx: ClassifyContext): WorkerState {
  if (ctx.attachedPids.has(p.pid)) return 'attached';
  if (d) return 'agent';
  return ctx.selfUid === 0 || ctx.selfUid === p.uid ? 'injectable' : 'not-permitted';
}

/**
 * Builds the tree. Celery children are processes whose parent is a Celery worker main process
 * (byte-identical cmdlines, so only the parent link tells them apart); a replaced child shows up
 * under the same main with a new pid.
 */
export function buildWorkerTree(procs: ProcessEntry[], discovery: DiscoveryFile[], ctx: ClassifyContext): WorkerRow[] {
  const byPid = new Map(procs.map(p => [p.pid, p]));
  const disc = new Map(discovery.filter(d => byPid.has(d.pid)).map(d => [d.pid, d]));
  const rows = new Map<number, WorkerRow>();
  const row = (p: ProcessEntry, kind: WorkerKind, role: ProcessRole, roleLabel: string, pool: PoolKind | null): WorkerRow => {
    const d = disc.get(p.pid) ?? null;
    return {
      pid: p.pid, ppid: p.ppid, kind, role: d?.role ?? role, roleLabel: d ? (d.role === 'main' ? 'main' : d.processName) : roleLabel,
      pool: d?.pool ?? pool, workerName: d?.workerName ?? null, rssBytes: p.rssBytes, state: stateOf(p, d, ctx),
      discovery: d, inspectorPort: null, children: [], commandLine: p.argv.join(' '),
    };
  };
  const celery = procs.filter(p => !ctx.ignorePids.has(p.pid) && (isCeleryWorker(p) || disc.get(p.pid)?.workerName));
  const celeryPids = new Set(celery.map(p => p.pid));
  const top: WorkerRow[] = [];
  for (const p of celery.filter(p => !celeryPids.has(p.ppid)).sort((a, b) => a.pid - b.pid)) {
    const r = row(p, 'celery', 'main', 'main', poolFromArgv(p.argv));
    const kids = celery.filter(c => c.ppid === p.pid).sort((a, b) => a.pid - b.pid);
    r.children = kids.map((c, i) => row(c, 'celery', 'child', childLabel(i), r.pool));
    rows.set(p.pid, r);
    top.push(r);
  }
  for (const d of disc.values()) {
    if (celeryPids.has(d.pid) || ctx.ignorePids.has(d.pid)) continue;
    const p = byPid.get(d.pid)!;
    top.push(row(p, 'python', d.role, d.processName, d.pool));
  }
  for (const p of procs) {
    if (ctx.ignorePids.has(p.pid)) continue;
    const port = nodeInspectorPort(p);
    if (port === null) continue;
    const r = row(p, 'node', 'process', scriptName(p) ?? 'node', null);
    r.inspectorPort = port;
    r.state = ctx.attachedPids.has(p.pid) ? 'attached' : 'inspector';
    top.push(r);
  }
  return top;
}

/**
 * Every Python process (not only Celery workers or those with an agent), for "Attach to Python
 * Process…": rows the tree already has are reused, the rest are plain processes to inject into.
 */
export function pythonProcessRows(procs: ProcessEntry[], known: WorkerRow[], ctx: ClassifyContext): WorkerRow[] {
  const byPid = new Map(known.map(r => [r.pid, r]));
  return procs.filter(p => isPython(p) && !ctx.ignorePids.has(p.pid)).map(p => byPid.get(p.pid) ?? {
    pid: p.pid, ppid: p.ppid, kind: 'python', role: 'process', roleLabel: baseName(scriptName(p) ?? p.comm),
    pool: null, workerName: null, rssBytes: p.rssBytes, state: stateOf(p, null, ctx),
    discovery: null, inspectorPort: null, children: [], commandLine: p.argv.join(' '),
  });
}

function baseName(file: string): string {
  return file.slice(file.lastIndexOf('/') + 1);
}

/** Flattens the tree (mains, then their children). */
export function flattenWorkers(rows: WorkerRow[]): WorkerRow[] {
  return rows.flatMap(r => [r, ...flattenWorkers(r.children)]);
}
