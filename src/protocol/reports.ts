// Flight-recorder report files written by the agent (agent/workerlens_agent/recorder.py):
// <reports dir>/<pid>-<start ms>.json, one per worker process, refreshed every few seconds and
// kept after the process exits (recycled, killed). Format "workerlens-report", version 1.

export const REPORT_FORMAT = 'workerlens-report';
export const REPORT_VERSION = 1;

export type ExitReason = 'max_tasks_per_child' | 'max_memory_per_child' | 'oom_killer' | 'sigkill' | 'signal' |
  'error' | 'shutdown' | 'recycled' | 'unknown';

export interface ReportExit {
  reason: ExitReason;
  text: string;
  exitCode?: number | null;
  signal?: number;
  at: number;
  /** 'child' (its own last word in worker_process_shutdown) or 'main process' (from the exit status). */
  by: string;
  childSaid?: ReportExit | null;
  rssBytes?: number;
}

export interface ReportTask {
  name: string;
  taskId: string;
  startedAt: number;
  seconds: number;
  /** null: RSS was not read for this run (it is sampled, agent tasksample.py). */
  memDeltaBytes: number | null;
  state: 'succeeded' | 'failed';
}

export interface ReportTasks {
  completed: number;
  runs: Record<string, { succeeded: number; failed: number }>;
  memDelta: Record<string, { cumulative: number[]; sum: number; count: number }>;
  bucketBounds: number[];
  recent: ReportTask[];
  running: number;
}

/** One growing type. The first few (agent typepaths.py) also carry a retainer path, or why not. */
export interface ReportGrowingType {
  type: string;
  count: number;
  growth: number;
  /** Labels from a named root to a sampled instance (["tasks", "leaky_storage", "[1234]"]); null: see pathNote; absent: not searched (beyond the top few). */
  path?: string[] | null;
  /** The labels as code: "tasks.leaky_storage[1234]". */
  pathText?: string;
  /** How the path was obtained: "one path from 5 sampled instances (the newest survivors), by gc referrers; shared by 5 of them". */
  pathHow?: string;
  /** Why there is no path: not searched yet, skipped for cost, not reached within N hops, only through tuples... */
  pathNote?: string;
  /** When the path was found (unix s): paths are reused for a while instead of searched each count. */
  pathAt?: number;
}

/** The last retainer-path search (its cost counts in the same 0.5 % duty budget as the counts). */
export interface ReportPathSearch {
  at: number;
  costMs: number;
  types?: number;
  instances?: number;
  hops?: number;
  /** Why the search ended early: 'time' (its budget), 'depth', 'frontier' (referrers left out), or null. */
  stopped?: string | null;
}

export interface ReportObjects {
  at: number;
  costMs: number;
  total: number;
  trackedBytesEstimate: number;
  baselineAt: number;
  growing: ReportGrowingType[];
  /** null until a path was searched; absent in reports of older agents. */
  paths?: ReportPathSearch | null;
}

export interface ReportMemory {
  parts?: Record<string, number>;
  how?: Record<string, string>;
  rssBytes?: number;
  at?: number;
  error?: string;
}

export interface ReportThread {
  name: string;
  daemon: boolean;
  /** The flight recorder's own thread. */
  isRecorder: boolean;
  /** One of Worker Lens' threads (recorder, CDP agent): not the worker's. */
  isAgent?: boolean;
  frames: { functionName: string; url: string; lineNumber: number }[];
}

export interface FlightReport {
  format: typeof REPORT_FORMAT;
  version: typeof REPORT_VERSION;
  pid: number;
  ppid: number;
  role: 'main' | 'child' | string;
  processName: string | null;
  childIndex: number | null;
  workerName: string | null;
  pool: string | null;
  limits: { maxTasksPerChild?: number | null; maxMemoryPerChildKb?: number | null };
  startedAt: number;
  updatedAt: number;
  intervalSeconds: number;
  pythonVersion: string;
  agentVersion: string;
  rssBytes: number;
  maxRssBytes: number | null;
  memory: ReportMemory | null;
  memoryNote: string | null;
  objects: ReportObjects | null;
  tasks: ReportTasks;
  threads: ReportThread[];
  recorder: { paused: { reason: string; since: number } | null; writes: number; errors: number; directory: string };
  exit: ReportExit | null;
}
