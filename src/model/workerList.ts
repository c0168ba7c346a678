// Pure: turns a process table (+ agent discovery files) into the Workers view's tree:
// Celery main processes with their pool children beneath, other agent-bearing Python processes,
// and Node processes that look like workers (inspector on, talk to Redis, named so), with or
// without an inspector (one can be opened with SIGUSR1). No I/O here; src/cdp/procScan.ts reads /proc.
import type { DiscoveryFile, PoolKind, ProcessRole } from '../protocol/agent';

export interface ProcessEntry {
  pid: number;
  ppid: number;
  uid: number;
  comm: string;          // /proc/PID/comm or the name inside stat's parentheses
  argv: string[];        // /proc/PID/cmdline split on NUL
  rssBytes: number;
  exe: string | null;    // readlink /proc/PID/exe when permitted
  /** TCP sockets (read only for Node and redis-server processes, when permitted). */
  sockets?: { localPort: number; remotePort: number; listening: boolean; established: boolean }[];
}

export type WorkerKind = 'celery' | 'python' | 'node';
/** inspector: a Node process with its inspector on; activatable: a Node process whose inspector we can open (SIGUSR1). */
export type WorkerState = 'attached' | 'agent' | 'injectable' | 'not-permitted' | 'inspector' | 'activatable';

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
  /** Why a Node process is listed as a worker ("talks to Redis on port 6379", "--inspect"). */
  note?: string;
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
    const m = /^--inspect(?:-brk|-wait)?(?:=(?:[^:]*:)?(\d+))?$/.exec(arg);
    if (m) return m[1] !== undefined ? Number(m[1]) : 9229;
  }
  return null;
}

/**
 * The port a Node process opens its inspector on when activated (SIGUSR1): --inspect-port /
 * --debug-port from its command line or NODE_OPTIONS, else 9229. 0 = any free port.
 */
export function activationPort(argv: readonly string[], nodeOptions = ''): number {
  const args = [...argv, ...nodeOptions.split(/\s+/).filter(Boolean)];
  let port = 9229;
  for (let i = 0; i < args.length; i++) {
    const m = /^--(?:inspect|debug)-port(?:=(.*))?$/.exec(args[i]);
    if (!m) continue;
    const v = (m[1] ?? args[i + 1] ?? '').replace(/^.*:/, '');
    if (/^\d+$/.test(v)) port = Number(v);
  }
  return port;
}

/** Node refuses SIGUSR1 activation with --disable-sigusr1 (Node ≥ 22.14). */
export function sigusr1Disabled(argv: readonly string[], nodeOptions = ''): boolean {
  return argv.includes('--disable-sigusr1') || /(^|\s)--disable-sigusr1(\s|$)/.test(nodeOptions);
}

/** Signalling a process that is not really Node would kill it (SIGUSR1's default): only a node executable. */
export function canActivateInspector(p: ProcessEntry): boolean {
  return p.exe !== null && /(^|\/)(node|nodejs)$/.test(p.exe);
}

// Editors, language servers (vscode-languageclient starts them with --node-ipc) and package tools
// run on Node too; they are not the user's workers.
const NODE_TOOLING = /--node-ipc|--clientProcessId|code-server|\.vscode-server|\/vscode\/|extensionHost|bootstrap-fork|--type=|tsserver|typingsInstaller|eslintServer|languageserver|language-server|npm-cli\.js|npx-cli\.js|corepack|\/node_modules\/\.bin\/|\/node_modules\/(typescript|esbuild|mocha|eslint|npm|pnpm|yarn)\//;
const WORKER_PACKAGES = /\b(bullmq|bull|bee-queue|agenda|worker_threads|piscina|graphile-worker|pg-boss)\b/;

/** Why a Node process looks like a worker, or null (then the Workers view leaves it out). */
export function nodeWorkerReason(p: ProcessEntry, redisPorts: ReadonlySet<number>): string | null {
  const cmd = p.argv.join(' ');
  if (NODE_TOOLING.test(cmd)) return null;
  const port = nodeInspectorPort(p);
  if (port !== null) return `inspector on port ${port}`;
  const redis = p.sockets?.find(s => s.established && (redisPorts.has(s.remotePort) || s.remotePort === 6379));
  if (redis) return `talks to Redis on port ${redis.remotePort} (BullMQ-style queue worker)`;
  const pkg = WORKER_PACKAGES.exec(cmd);
  if (pkg) return `command line names ${pkg[1]}`;
  const script = scriptName(p);
  if (script && /worker|queue|consumer|job/i.test(script.slice(script.lastIndexOf('/') + 1))) return `script ${script.slice(script.lastIndexOf('/') + 1)}`;
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
  const redisPorts = new Set(procs.filter(p => p.comm === 'redis-server').flatMap(p => (p.sockets ?? []).filter(s => s.listening).map(s => s.localPort)));
  for (const p of procs) {
    if (ctx.ignorePids.has(p.pid) || !isNode(p)) continue;
    const note = nodeWorkerReason(p, redisPorts);
    if (note === null) continue;
    const port = nodeInspectorPort(p);
    const r = row(p, 'node', 'process', baseName(scriptName(p) ?? 'node'), null);
    r.inspectorPort = port;
    r.note = note;
    const mine = ctx.selfUid === 0 || ctx.selfUid === p.uid;
    r.state = ctx.attachedPids.has(p.pid) ? 'attached' : port !== null ? 'inspector' : mine && canActivateInspector(p) ? 'activatable' : 'not-permitted';
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
