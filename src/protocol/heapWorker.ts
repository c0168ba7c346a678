// The contract between the extension host and the heap worker thread (src/heapWorker/): the host
// never parses or analyses a snapshot itself; it sends requests and gets typed answers, progress
// and cancellation. One worker holds at most one snapshot (and its analysis); terminating the
// worker frees all of it. The CLI does not use this: it calls src/model directly.
import type { RetainerGraph } from './webview';

/** Where the snapshot comes from: a `.heapsnapshot` file the worker reads, or chunks the host posts. */
export type SnapshotSource = { kind: 'file'; path: string } | { kind: 'stream' };

export interface ParseResult { nodeCount: number; edgeCount: number; bytes: number; parseMs: number }

/** One class (constructor name, or "(string)"-style group) of the snapshot. */
export interface TypeSummary {
  className: string;
  count: number;
  selfSize: number;
  /** With `retained` only (needs the dominator tree). */
  retainedSize?: number;
}

export interface SummaryResult {
  rows: TypeSummary[];
  nodeCount: number;
  totalSelfSize: number;
  /** ms spent on the analysis (dominators + shortest paths) if this call built it; 0 when cached or not asked. */
  analysisMs: number;
}

export interface PathStepInfo { label: string; edgeType: string; nodeId: number; nodeClass: string; nodeType: string }
export interface RetainerCluster { steps: PathStepInfo[]; labels: string[]; text: string; count: number; pattern: string[]; sampleIds: number[] }
export interface RetainersResult { type: string; instanceCount: number; clusters: RetainerCluster[]; unreachable: number; others: number }

/** A node's dominator chain, the node first, up to (not including) the synthetic root. */
export interface DominatorChain { nodeId: number; chain: { nodeId: number; className: string; retainedSize: number }[] }
export interface DominatorsResult { chains: DominatorChain[] }

/** A module global the host may resolve to a source line (the worker reads no user files). */
export interface RootDefinitionInfo { nodeId: string; file: string; name: string }
export interface GraphResult { graph: RetainerGraph; definitions: RootDefinitionInfo[] }

/** Operation → [params, result]. */
export interface HeapWorkerOps {
  /** Replaces any snapshot the worker held. For {kind:'stream'}, post `chunk` messages then `end`. */
  parse: [{ source: SnapshotSource }, ParseResult];
  /** Counts and sizes per class; `retained: true` builds the analysis first (dominators, paths). */
  summary: [{ retained: boolean; limit?: number }, SummaryResult];
  /** Clustered shortest retainer paths of a type's instances. */
  retainers: [{ type: string; maxClusters?: number }, RetainersResult];
  dominators: [{ nodeIds: number[]; maxDepth?: number }, DominatorsResult];
  /** The Retainers panel's graph for a type. */
  graph: [{ type: string; maxPaths?: number; source?: string }, GraphResult];
  /** Drops the snapshot and its analysis (the worker stays, empty). */
  release: [Record<string, never>, Record<string, never>];
}
export type HeapWorkerOp = keyof HeapWorkerOps;
export type OpParams<O extends HeapWorkerOp> = HeapWorkerOps[O][0];
export type OpResult<O extends HeapWorkerOp> = HeapWorkerOps[O][1];

/** Phases progress is reported in: bytes read, then the analysis passes. */
export type HeapWorkerPhase = 'parse' | 'index' | 'dominators' | 'paths' | 'summary';

export type ToHeapWorker =
  | { kind: 'request'; id: number; op: HeapWorkerOp; params: unknown }
  | { kind: 'chunk'; id: number; data: string | Uint8Array }
  | { kind: 'end'; id: number };

export type HeapWorkerErrorName = 'SnapshotFormatError' | 'CancelledError' | 'NoSnapshotError' | 'Error';

export type FromHeapWorker =
  | { kind: 'ready' }
  | { kind: 'progress'; id: number; phase: HeapWorkerPhase; done: number; total: number }
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number; name: HeapWorkerErrorName; message: string };

/** workerData: a shared ring of cancelled request ids (slot = id % CANCEL_SLOTS), read with Atomics. */
export interface HeapWorkerData { cancel: SharedArrayBuffer }
export const CANCEL_SLOTS = 64;
