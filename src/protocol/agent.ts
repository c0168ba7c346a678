// The contract between the Python agent (agent/workerlens_agent) and every TypeScript consumer.
// Standard CDP methods keep their CDP shapes; the custom `Python` domain is defined here only.
// The agent's /json/protocol must describe the same shapes (checked by a contract test).

/** Fields of a discovery file: $XDG_RUNTIME_DIR/workerlens/<pid>.json, else /tmp/workerlens-<uid>/<pid>.json. */
export interface DiscoveryFile {
  pid: number;
  ppid: number;
  host: string;          // bind address, loopback by default
  port: number;
  token: string;         // WebSocket path is /<token>
  role: ProcessRole;
  processName: string;   // billiard name: MainProcess | ForkPoolWorker-N; else the script/process name
  workerName: string | null;   // celery hostname, e.g. celery@host
  pool: PoolKind | null;
  pythonVersion: string; // e.g. "3.11.2"
  executable: string;
  agentVersion: string;
  startedAt: number;     // unix seconds
}

export type ProcessRole = 'main' | 'child' | 'process';
export type PoolKind = 'prefork' | 'threads' | 'gevent' | 'eventlet' | 'solo' | 'custom';

/** One row of Python.getObjectCounts: a Python type and its live gc-tracked instances. */
export interface ObjectCount {
  type: string;          // __qualname__ of the type, e.g. "Payload", "dict"
  module: string;        // __module__ of the type, e.g. "tasks", "builtins"
  count: number;
  /** Shallow bytes, computed without user code: exact for fixed-size types (instances: count x size);
   *  for variable-size containers (dict, list, tuple, str...) count x the mean of a strided sample,
   *  unless `exactSizes` was asked for. One instance's size is sys.getsizeof's (own block + GC header
   *  + managed dict/weakref pre-header), the same bytes a snapshot gives it (self_size). */
  size: number;
  /** True when `size` is count x a sampled mean (containers); absent/false: exact. */
  sizeSampled?: boolean;
}

export interface GetObjectCountsParams {
  /** Run gc.collect() first (default false: counting must not change the worker). */
  collect?: boolean;
  /** Keep only the N types with most instances (default: all). */
  limit?: number;
  /** Exact sizes for variable-size types too (one more pass per such type: slower). Default false. */
  exactSizes?: boolean;
}

export interface GetObjectCountsResult {
  counts: ObjectCount[];
  totalObjects: number;
  totalSize: number;
  /** Time the worker's GIL was held by the count, ms. */
  pauseMs: number;
  timestamp: number;     // unix seconds, float
  /** Unix seconds of the count whose strided sample gave the containers' mean sizes (every 5th count or 10 s; Python agent only). */
  sizesSampledAt?: number;
  /** Objects left out because the agent made them (dicts its f_locals reads attached to running frames on CPython <= 3.12, the flight recorder's report), per type. */
  ownExcluded?: { dict?: number; list?: number };
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  role: ProcessRole;
  processName: string;
  workerName: string | null;
  pool: PoolKind | null;
  pythonVersion: string;
  implementation: string;  // "cpython"
  executable: string;
  argv: string[];
  rssBytes: number;
  startedAt: number;       // agent start, unix seconds
  agentVersion: string;
  injected: boolean;       // true when the agent arrived by ptrace injection / sys.remote_exec
  /** How the last heap snapshot was taken (null before the first one). */
  snapshotMode?: SnapshotMode | null;
}

/** 'fork': walked in a copy-on-write child (worker paused only for fork()); 'in-process': fallback. */
export type SnapshotMode = 'fork' | 'in-process';

/** What HeapProfiler.takeHeapSnapshot returns after the last chunk (CDP returns {}; these are extra). */
export interface TakeHeapSnapshotResult {
  mode: SnapshotMode;
  pauseMs: number;         // fork() time, or the whole walk in-process
  nodeCount: number;
  edgeCount: number;
  wallMs: number;
}

/** stdout of `python3 -m workerlens_agent inject PID --json` on success (one line). */
export type InjectResult = DiscoveryFile & { alreadyRunning?: boolean };

/** stdout of the injector on failure, with a non-zero exit and one line on stderr. */
export interface InjectFailure {
  error: { code: InjectErrorCode; message: string; hint: string };
}
export type InjectErrorCode = 'unsupported-platform' | 'ptrace-denied' | 'not-python' | 'unsupported-version' | 'timeout' | 'busy' | 'cancelled' | 'untrusted-discovery' | 'not-found' | 'failed';

export interface StackFrame {
  functionName: string;
  url: string;             // file path
  lineNumber: number;      // 0-based, as CDP
}

/** What a thread is doing, inferred from its top Python frame (agent) or its kernel state (outside). */
export type ThreadState = 'running' | 'waiting' | 'sleeping' | 'io' | 'idle' | 'agent' | 'unknown';

/** An object a thread waits on or holds, identified without calling user code. */
export interface WaitObject {
  id: number;              // id() in the worker
  type: string;            // module.qualname of its type, e.g. "_thread.lock", "queue.Queue"
  kind: string;            // Lock | RLock | Condition | Event | Queue | Semaphore | Thread | Barrier | object
  /** Where it was created: only when tracemalloc was tracing (how says so). */
  createdAt?: { url: string; lineNumber: number; how: string };
}

export interface SourcePoint { url: string; lineNumber: number; functionName: string }

export interface ThreadWait {
  object: WaitObject;
  call: string;            // acquire | wait | get | join | __enter__ ...
  expression?: string;     // the source expression resolved to the object, e.g. "lock_b", "self._lock"
  at: SourcePoint | null;  // the program's frame that waits
  how: string;             // how the object was found
  /** Threads that hold it, where knowable (RLock owner, joined thread, holders inferred from source). */
  holderThreadIds?: number[];
  holderHow?: string;
}

export interface ThreadHold {
  object: WaitObject;
  expression: string;
  url: string;
  lineNumber: number;      // 0-based line inside the `with`/after the acquire()
  how: string;
}

/** The Celery task a thread runs (task_prerun .. task_postrun in that thread). */
export interface ThreadTask {
  name: string;
  taskId: string;
  startedAt: number;       // unix seconds
  runningSeconds: number;
  softTimeLimit: number | null;
  timeLimit: number | null;
  pastSoftLimit: boolean;
  pastHardLimit: boolean;
}

export interface ThreadStack {
  threadId: number;        // threading ident (pthread_t)
  name: string;
  daemon: boolean;
  isAgent: boolean;        // threads that belong to Worker Lens itself
  frames: StackFrame[];    // innermost first
  nativeId?: number | null;
  framesTruncated?: boolean;
  state?: ThreadState;
  stateDetail?: string;
  task?: ThreadTask;
  waitsOn?: ThreadWait;
  holds?: ThreadHold[];
  /** Outside reads: the kernel's view of the thread. */
  kernelState?: string | null;
  syscall?: string | null;
  readNote?: string;
}

/** A waits-for cycle: threadIds[i] waits on objects[i], held by threadIds[i+1] (wrapping). */
export interface Deadlock { threadIds: number[]; objects: WaitObject[]; how: string }

/** 'agent': Python.getThreadStacks inside the worker; 'outside': /proc/PID/mem read by the same interpreter binary. */
export type StacksSource = 'agent' | 'outside';

export interface GetThreadStacksResult {
  threads: ThreadStack[];
  deadlocks?: Deadlock[];
  source?: StacksSource;
  /** CPU time the read held the worker's GIL, ms (0 for outside reads: the worker is not stopped). */
  pauseMs?: number;
  wallMs?: number;
  timestamp?: number;
  pid?: number;
  threadCount?: number;
  /** Outside reads: how the stacks were read; notes about threads that moved on mid-read. */
  how?: string;
  notes?: string[];
}

/** stdout of `python -m workerlens_agent outside-stacks PID` on failure. */
export interface OutsideStacksFailure { error: { code: string; message: string } }

export interface TaskStat {
  name: string;            // Celery task name, e.g. "tasks.leak"
  runs: number;
  failures: number;
  totalSeconds: number;
  /** Sum over the measured runs of (RSS after - before), bytes. */
  memDeltaBytes: number;
  lastMemDeltaBytes: number;
  /** Runs whose RSS was measured: the agent samples RSS to keep its cost under 0.5 % of the
   * worker's time (absent from older agents: then every run was measured). */
  memSampledRuns?: number;
  /** Measured runs per bucket of RSS change (upper bounds: GetTaskStatsResult.memDeltaBucketBounds,
   * the last bucket open-ended); absent from older agents. */
  memDeltaHistogram?: number[];
  lastRunAt: number;       // unix seconds
}

export interface GetTaskStatsResult {
  pool: PoolKind | null;
  /** false for threads/gevent/eventlet pools: deltas mix concurrent tasks. */
  exact: boolean;
  tasks: TaskStat[];
  /** Upper bounds (bytes, inclusive) of memDeltaHistogram's buckets. */
  memDeltaBucketBounds?: number[];
}

export interface GetResourceCountsResult {
  fds: number;
  sockets: number;
  threads: number;
  rssBytes: number;
}

/** Runtime.getHeapUsage as CDP defines it. */
export interface HeapUsage { usedSize: number; totalSize: number }

/** Event Python.taskEvent (after Python.enable): task boundaries for the memory timeline. */
export interface TaskEvent {
  phase: 'start' | 'end';
  name: string;
  taskId: string;
  timestamp: number;       // unix seconds, float
  rssBytes: number;
}

/** How a figure was obtained. Every figure the tool shows carries one (a wrong answer is worse than none). */
export type FigureHow = 'exact' | 'estimated' | 'unavailable';

/** Parts of a Python process's RSS (Python.getMemoryBreakdown), in this order. */
export type PythonMemoryPartKey = 'fileBacked' | 'pythonTracked' | 'pythonUntracked' | 'allocatorOverhead' | 'mallocFree' | 'nativeOther';
/** Parts of a Node process's RSS (process.memoryUsage() through Runtime.evaluate: src/cdp/nodeMemory.ts). */
export type NodeMemoryPartKey = 'jsHeapUsed' | 'jsHeapFree' | 'external' | 'arrayBuffers' | 'nativeOther';
export type MemoryPartKey = PythonMemoryPartKey | NodeMemoryPartKey;

export interface MemoryPart {
  key: MemoryPartKey;
  label: string;
  /** null when unavailable. */
  bytes: number | null;
  how: FigureHow;
  /** Where the number comes from ("glibc mallinfo2().fordblks"); null when unavailable. */
  source: string | null;
  /** Why unavailable, or a caveat of an estimate. */
  reason?: string;
}

/** /proc/PID/smaps_rollup (else status, else statm). Shared vs private: pages shared with the prefork parent. */
export interface ProcessMemory {
  rssBytes: number | null;
  pssBytes?: number | null;
  anonymousBytes?: number | null;
  sharedBytes?: number | null;
  privateBytes?: number | null;
  privateDirtyBytes?: number | null;
  swapBytes?: number | null;
  source: string | null;
  how: FigureHow;
  reason?: string;
}

export interface MallocStats {
  how: FigureHow;
  reason?: string;
  source?: string;
  allocator?: string;            // 'glibc', 'jemalloc', …
  arenaBytes?: number;
  mmapBytes?: number;
  inUseBytes?: number;
  /** Free bytes inside malloc's arenas (not returned to the OS). */
  freeBytes?: number;
  topReleasableBytes?: number;
  /** Arenas (malloc_info); null when it could not be read. */
  arenas?: number | null;
  perArena?: { arena: number; systemBytes: number | null; freeBytes: number }[] | null;
  perArenaReason?: string;
}

export interface PymallocStats {
  how: FigureHow;
  reason?: string;
  source?: string;
  arenas?: number;
  arenaBytes?: number;
  objectBytes?: number;
  overheadBytes?: number;
  freeBlockBytes?: number;
  unusedPoolBytes?: number;
}

/** A container (dict/list/set/deque, gc-tracked or not) holding many items, with a path to a named root. */
export interface ContainerInfo {
  /** id() in the worker: stable while the container lives (series are keyed by id + type). */
  id: number;
  type: string;
  module: string;
  length: number;
  /** false for dicts the gc does not track (only str/int/… inside): invisible to getObjectCounts. */
  tracked: boolean;
  shallowBytes: number;
  /** Shallow size + the items it holds directly (estimated: sampled beyond 20,000 items). */
  ownedBytes: number;
  /** Most common item types, e.g. ["str"]. */
  itemTypes: string[];
  /** Retainer path labels from a named root (["tasks", "_seen"]); null when none was found within 10 hops. */
  path: string[] | null;
  pathText: string | null;
}

export interface UntrackedWalk {
  objects: number;
  bytes: number;
  /** The walk stopped at its object limit: figures are lower bounds. */
  partial: boolean;
  byType: ObjectCount[];
  containers: ContainerInfo[];
  costMs: { walk: number; containers: number; paths: number };
}

export interface GetMemoryBreakdownParams {
  /** Also walk untracked objects and rank containers (slower: its own cadence). Default false. */
  untracked?: boolean;
  /** Skip malloc_info's per-arena figures. */
  noArenas?: boolean;
}

export interface MemoryBreakdown {
  rssBytes: number | null;
  process: ProcessMemory;
  /** Add up to RSS (nativeOther is the remainder, clamped at 0: its reason says when it was). */
  parts: MemoryPart[];
  malloc: MallocStats | null;
  pymalloc: PymallocStats | null;
  trackedObjects: number;
  untracked: UntrackedWalk | null;
  pid: number;
  timestamp: number;       // unix seconds
  costMs: { total: number; counts: number; untracked: number };
}

/** Python.trimMemory: glibc malloc_trim(0) in the worker. */
export interface TrimMemoryResult {
  trimmed: boolean;
  reason?: string;
  source?: string;
  rssBeforeBytes: number | null;
  rssAfterBytes: number | null;
  /** RSS before − after (what came back to the OS). */
  releasedBytes: number | null;
  trimMs: number;
  mallocFreeBeforeBytes?: number | null;
  mallocFreeAfterBytes?: number | null;
}

/** Method name → [params, result]; the typed client in src/cdp is generated from this map. */
export interface PythonDomain {
  'Python.enable': [Record<string, never>, Record<string, never>];
  'Python.disable': [Record<string, never>, Record<string, never>];
  'Python.getObjectCounts': [GetObjectCountsParams, GetObjectCountsResult];
  'Python.getProcessInfo': [Record<string, never>, ProcessInfo];
  'Python.getThreadStacks': [Record<string, never>, GetThreadStacksResult];
  'Python.getTaskStats': [Record<string, never>, GetTaskStatsResult];
  'Python.getResourceCounts': [Record<string, never>, GetResourceCountsResult];
  'Python.getMemoryBreakdown': [GetMemoryBreakdownParams, MemoryBreakdown];
  'Python.trimMemory': [Record<string, never>, TrimMemoryResult];
}

/** CDP error codes the agent uses. */
export const CdpErrorCode = {
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  ParseError: -32700,
} as const;
