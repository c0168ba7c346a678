// The fleet as the views and the CLI show it: lines of the fleet helper checked field by field (they
// come from remote workers), workers ranked by memory growth, grouped by host, and a fleet-wide
// "task → memory per run" table. Pure: no I/O.
import { FLEET_VERSION, type FleetGrowth, type FleetLine, type FleetMemoryPart, type FleetProcess, type FleetReply, type FleetTaskStat } from '../protocol/fleet';

/** How the fleet figures were obtained (shown with them in the CLI and the view). */
export const FLEET_HOW = 'How obtained: each worker\'s main process reads RSS from /proc/PID/statm for itself and its pool children and asks their agents '
  + '(loopback) for task stats and per-type counts; growth = RSS now − RSS at that main\'s first fleet look (UTC time shown); '
  + 'task memory = RSS after − before each run (task_prerun → task_postrun), summed.';

export interface FleetWorker {
  node: string;
  status: 'ok' | 'unknown' | 'no-answer';
  duplicate: boolean;
  /** Why the status is not ok (or why a duplicate is suspicious). */
  reason: string | null;
  reply: FleetReply | null;
  host: string;
  rssBytes: number;
  /** Sum over its processes of RSS now − RSS at the main's first fleet look (null when unknown). */
  growthBytes: number | null;
  /** Sum of per-task RSS change (task_prerun → task_postrun) over its processes. */
  taskMemBytes: number;
  /** Earliest first look among its processes (unix s): growth is "since" that. */
  since: number | null;
}

export interface FleetState {
  workers: FleetWorker[];
  done: Extract<FleetLine, { type: 'done' }> | null;
  error: Extract<FleetLine, { type: 'error' }> | null;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const intOrNull = (v: unknown): number | null => (isInt(v) ? v : null);
const strOrNull = (v: unknown): string | null => (isStr(v) ? v : null);
const obj = (v: unknown): Record<string, unknown> | null => (v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : null);

function arrayOf<T>(v: unknown, each: (x: Record<string, unknown>) => T | null, max = 100): T[] | null {
  if (!Array.isArray(v)) return null;
  const out: T[] = [];
  for (const x of v.slice(0, max)) { const o = obj(x); const t = o && each(o); if (t) out.push(t); }
  return out;
}

function task(o: Record<string, unknown>): FleetTaskStat | null {
  return isStr(o.name) && isInt(o.runs) ? {
    name: o.name, runs: o.runs, memDeltaBytes: intOrNull(o.memDeltaBytes) ?? 0, lastMemDeltaBytes: intOrNull(o.lastMemDeltaBytes) ?? 0,
    memSampledRuns: Math.min(o.runs, intOrNull(o.memSampledRuns) ?? o.runs),
  } : null;
}
function growth(o: Record<string, unknown>): FleetGrowth | null {
  if (!isStr(o.type) || !isInt(o.delta)) return null;
  const g: FleetGrowth = { module: strOrNull(o.module) ?? '', type: o.type, count: intOrNull(o.count) ?? 0, delta: o.delta, sizeDelta: intOrNull(o.sizeDelta) ?? 0 };
  if (isStr(o.path)) { g.path = o.path.slice(0, 300); g.pathHow = strOrNull(o.pathHow)?.slice(0, 200) ?? undefined; }
  else if (isStr(o.pathNote)) g.pathNote = o.pathNote.slice(0, 200);
  return g;
}
function part(o: Record<string, unknown>): FleetMemoryPart | null {
  return isStr(o.key) ? { key: o.key, label: strOrNull(o.label) ?? o.key, bytes: intOrNull(o.bytes), how: strOrNull(o.how) ?? '' } : null;
}
function proc(o: Record<string, unknown>): FleetProcess | null {
  if (!isInt(o.pid) || (o.role !== 'main' && o.role !== 'child')) return null;
  return {
    pid: o.pid, role: o.role, processName: strOrNull(o.processName), rssBytes: intOrNull(o.rssBytes),
    rssFirstBytes: intOrNull(o.rssFirstBytes), rssFirstAt: intOrNull(o.rssFirstAt),
    trend: Array.isArray(o.trend) ? o.trend.filter(isInt).slice(-24) : [],
    agentPort: intOrNull(o.agentPort), agentVersion: strOrNull(o.agentVersion),
    ...(isStr(o.token) && /^[0-9a-f]{16,128}$/.test(o.token) ? { token: o.token } : {}),
    tasks: arrayOf(o.tasks, task), growth: arrayOf(o.growth, growth), countsAt: intOrNull(o.countsAt), countsBaseAt: intOrNull(o.countsBaseAt),
    breakdown: arrayOf(o.breakdown, part, 16), error: strOrNull(o.error),
  };
}

/** A reply checked field by field; a string says why it is not one we can read. */
export function checkReply(v: unknown): FleetReply | string {
  const o = obj(v);
  if (!o) return 'the reply is not an object';
  if (o.workerlens !== FLEET_VERSION) return `fleet reply version ${String(o.workerlens)} (this Worker Lens reads ${FLEET_VERSION})`;
  if (!isStr(o.node) || !isStr(o.host) || !isInt(o.pid)) return 'the reply lacks node, host or pid';
  const processes = arrayOf(o.processes, proc, 64);
  if (!processes || !processes.length) return 'the reply has no processes';
  return {
    workerlens: FLEET_VERSION, agentVersion: strOrNull(o.agentVersion) ?? '?', node: o.node, host: o.host, pid: o.pid,
    python: strOrNull(o.python) ?? '?', celery: strOrNull(o.celery), pool: strOrNull(o.pool), concurrency: intOrNull(o.concurrency),
    maxTasksPerChild: intOrNull(o.maxTasksPerChild), maxMemoryPerChildKb: intOrNull(o.maxMemoryPerChildKb),
    at: intOrNull(o.at) ?? 0, elapsedMs: intOrNull(o.elapsedMs) ?? 0, truncated: o.truncated === true, processes,
  };
}

/** One stdout line of the helper; null for a blank line. Garbage worker lines become status 'unknown'. */
export function parseFleetLine(text: string): FleetLine | null {
  if (!text.trim()) return null;
  let v: unknown;
  try { v = JSON.parse(text); } catch { return { type: 'error', code: 'helper-output', message: `the fleet helper printed a line that is not JSON: ${text.slice(0, 120)}` }; }
  const o = obj(v);
  if (!o) return null;
  if (o.type === 'error') return { type: 'error', code: strOrNull(o.code) ?? 'error', message: strOrNull(o.message) ?? 'the fleet helper failed' };
  if (o.type === 'done') return { type: 'done', broker: strOrNull(o.broker) ?? '', workers: intOrNull(o.workers) ?? 0, replies: intOrNull(o.replies) ?? 0, timeoutS: intOrNull(o.timeoutS) ?? 0, elapsedMs: intOrNull(o.elapsedMs) ?? 0 };
  if (o.type !== 'worker' || !isStr(o.node)) return null;
  const duplicate = o.duplicate === true;
  if (o.status === 'ok') {
    const reply = checkReply(o.reply);
    if (typeof reply === 'string') return { type: 'worker', node: o.node, status: 'unknown', duplicate, reason: reply };
    return { type: 'worker', node: o.node, status: 'ok', duplicate, reply };
  }
  const status = o.status === 'no-answer' ? 'no-answer' : 'unknown';
  return { type: 'worker', node: o.node, status, duplicate, reason: strOrNull(o.reason) ?? 'no reason given' };
}

export function workerOf(line: Extract<FleetLine, { type: 'worker' }>): FleetWorker {
  if (line.status !== 'ok') {
    return { node: line.node, status: line.status, duplicate: line.duplicate, reason: line.reason, reply: null, host: hostOfNode(line.node), rssBytes: 0, growthBytes: null, taskMemBytes: 0, since: null };
  }
  const r = line.reply;
  let rss = 0, grown = 0, known = false, taskMem = 0, since: number | null = null;
  for (const p of r.processes) {
    rss += p.rssBytes ?? 0;
    if (p.rssBytes !== null && p.rssFirstBytes !== null) { grown += p.rssBytes - p.rssFirstBytes; known = true; }
    if (p.rssFirstAt !== null) since = since === null ? p.rssFirstAt : Math.min(since, p.rssFirstAt);
    for (const t of p.tasks ?? []) taskMem += t.memDeltaBytes;
  }
  return {
    node: line.node, status: 'ok', duplicate: line.duplicate,
    reason: line.duplicate ? 'another worker answers with the same node name: rename one (-n NAME@%h)' : null,
    reply: r, host: r.host, rssBytes: rss, growthBytes: known ? grown : null, taskMemBytes: taskMem, since,
  };
}

function hostOfNode(node: string): string {
  const at = node.lastIndexOf('@');
  return at >= 0 ? node.slice(at + 1) : '(unknown host)';
}

/** Reads every line of one helper run. */
export function fleetFromLines(lines: Iterable<string>): FleetState {
  const state: FleetState = { workers: [], done: null, error: null };
  for (const text of lines) {
    const l = parseFleetLine(text);
    if (!l) continue;
    if (l.type === 'worker') state.workers.push(workerOf(l));
    else if (l.type === 'done') state.done = l;
    else state.error ??= l;
  }
  state.workers = rankWorkers(state.workers);
  return state;
}

/** Growing first (RSS growth, then task memory), then by size; workers we cannot read last. */
export function rankWorkers(workers: FleetWorker[]): FleetWorker[] {
  const rank = (w: FleetWorker) => (w.status === 'ok' ? 0 : 1);
  return [...workers].sort((a, b) => rank(a) - rank(b) || (b.growthBytes ?? -Infinity) - (a.growthBytes ?? -Infinity)
    || b.taskMemBytes - a.taskMemBytes || b.rssBytes - a.rssBytes || a.node.localeCompare(b.node));
}

/** Hosts in the order of their most growing worker; workers keep their rank inside. */
export function groupByHost(workers: FleetWorker[]): { host: string; workers: FleetWorker[] }[] {
  const groups = new Map<string, FleetWorker[]>();
  for (const w of rankWorkers(workers)) {
    const g = groups.get(w.host);
    if (g) g.push(w); else groups.set(w.host, [w]);
  }
  return [...groups].map(([host, ws]) => ({ host, workers: ws }));
}

/** perRunBytes: mean RSS change over the measured runs (memSampledRuns), not over all runs. */
export interface FleetTaskRow { name: string; runs: number; memDeltaBytes: number; memSampledRuns: number; perRunBytes: number; workers: number; processes: number }

/** Fleet-wide "task → memory per run": RSS change summed over every process that ran the task. */
export function fleetTaskTable(workers: FleetWorker[]): FleetTaskRow[] {
  const rows = new Map<string, FleetTaskRow & { nodes: Set<string> }>();
  for (const w of workers) {
    for (const p of w.reply?.processes ?? []) {
      for (const t of p.tasks ?? []) {
        let r = rows.get(t.name);
        if (!r) rows.set(t.name, r = { name: t.name, runs: 0, memDeltaBytes: 0, memSampledRuns: 0, perRunBytes: 0, workers: 0, processes: 0, nodes: new Set() });
        r.runs += t.runs; r.memDeltaBytes += t.memDeltaBytes; r.memSampledRuns += t.memSampledRuns; r.processes++; r.nodes.add(w.node);
      }
    }
  }
  return [...rows.values()].map(({ nodes, ...r }) => ({ ...r, workers: nodes.size, perRunBytes: r.memSampledRuns ? Math.round(r.memDeltaBytes / r.memSampledRuns) : 0 }))
    .sort((a, b) => b.perRunBytes - a.perRunBytes || b.runs - a.runs || a.name.localeCompare(b.name));
}

const BARS = '▁▂▃▄▅▆▇█';
/** RSS trend as block characters, scaled between its own min and max ('' for < 2 points). */
export function sparkline(values: number[], width = 12): string {
  const v = values.slice(-width);
  if (v.length < 2) return '';
  const lo = Math.min(...v), hi = Math.max(...v);
  return v.map(x => BARS[hi === lo ? 0 : Math.round(((x - lo) / (hi - lo)) * (BARS.length - 1))]).join('');
}

/** The worker's summed trend: per refresh index, from the end (processes may have different lengths). */
export function workerTrend(w: FleetWorker): number[] {
  const ps = w.reply?.processes ?? [];
  const n = Math.max(0, ...ps.map(p => p.trend.length));
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(ps.reduce((s, p) => s + (p.trend[p.trend.length - n + i] ?? p.trend[0] ?? 0), 0));
  return out;
}

/** Top growing types of a worker, over all its processes. */
export function workerGrowth(w: FleetWorker, top = 3): FleetGrowth[] {
  const by = new Map<string, FleetGrowth>();
  for (const p of w.reply?.processes ?? []) {
    for (const g of p.growth ?? []) {
      const k = `${g.module}.${g.type}`;
      const e = by.get(k);
      if (e) {
        e.delta += g.delta; e.count += g.count; e.sizeDelta += g.sizeDelta;
        if (!e.path && g.path) { e.path = g.path; e.pathHow = g.pathHow; delete e.pathNote; }
      } else by.set(k, { ...g });
    }
  }
  return [...by.values()].sort((a, b) => b.delta - a.delta).slice(0, top);
}
