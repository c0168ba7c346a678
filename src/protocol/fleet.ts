// The contract of `python -m workerlens_agent fleet` (agent/workerlens_agent/fleet.py): JSON lines on
// stdout, one per worker node, then `done`, or a single `error`. Replies come from remote workers
// over the user's broker: every field is checked on arrival (src/model/fleet.ts parseFleetLine).

export const FLEET_VERSION = 1;

/** memDeltaBytes sums the RSS change of the runs that were measured (memSampledRuns of runs; agents before it measured every run). */
export interface FleetTaskStat { name: string; runs: number; memDeltaBytes: number; lastMemDeltaBytes: number; memSampledRuns: number }
export interface FleetGrowth {
  module: string; type: string; count: number; delta: number; sizeDelta: number;
  /** Who holds it ("tasks.leaky_storage[12]"), from that process's flight recorder, with how it was found; or why not. */
  path?: string; pathHow?: string; pathNote?: string;
}
/** A part of RSS from Python.getMemoryBreakdown (agents that have it); `how` exact|estimated|unavailable. */
export interface FleetMemoryPart { key: string; label: string; bytes: number | null; how: string }

export interface FleetProcess {
  pid: number;
  role: 'main' | 'child';
  processName: string | null;
  /** /proc/PID/statm of that process, read by the worker's main process. */
  rssBytes: number | null;
  /** RSS when the worker's main process first answered a fleet request for this pid. */
  rssFirstBytes: number | null;
  rssFirstAt: number | null;
  /** RSS at each fleet request the main answered (oldest first, at most 24). */
  trend: number[];
  agentPort: number | null;
  agentVersion: string | null;
  /** Only when the caller asked to attach (--attach). */
  token?: string;
  tasks: FleetTaskStat[] | null;
  /** Types whose gc-tracked count grew since the first counted look (countsBaseAt). */
  growth: FleetGrowth[] | null;
  countsAt: number | null;
  countsBaseAt?: number | null;
  breakdown: FleetMemoryPart[] | null;
  error: string | null;
}

export interface FleetReply {
  workerlens: number;
  agentVersion: string;
  node: string;
  host: string;
  pid: number;
  python: string;
  celery: string | null;
  pool: string | null;
  concurrency: number | null;
  maxTasksPerChild: number | null;
  maxMemoryPerChildKb: number | null;
  at: number;
  elapsedMs: number;
  truncated: boolean;
  processes: FleetProcess[];
}

export type FleetLine =
  | { type: 'worker'; node: string; status: 'ok'; duplicate: boolean; reply: FleetReply }
  | { type: 'worker'; node: string; status: 'unknown' | 'no-answer'; duplicate: boolean; reason: string }
  | { type: 'done'; broker: string; workers: number; replies: number; timeoutS: number; elapsedMs: number }
  | { type: 'error'; code: 'usage' | 'no-celery' | 'broker-unreachable' | 'broker-auth' | string; message: string };
