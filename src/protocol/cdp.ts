// Standard Chrome DevTools Protocol shapes Worker Lens uses, defined once: both V8 (Node's
// inspector) and the Python agent serve them. The agent's own `Python` domain is in ./agent.ts.
import type { HeapUsage, TaskEvent } from './agent';

type Empty = Record<string, never>;

/** Runtime.CallFrame as HeapProfiler.SamplingHeapProfileNode carries it; lines and columns 0-based. */
export interface SamplingCallFrame { functionName: string; scriptId?: string; url: string; lineNumber: number; columnNumber: number }
export interface SamplingHeapProfileNode { callFrame: SamplingCallFrame; selfSize: number; id: number; children: SamplingHeapProfileNode[] }
/** `count` (blocks) is the agent's addition; V8 leaves it out (one sample = one block). */
export interface SamplingHeapProfileSample { size: number; nodeId: number; ordinal: number; count?: number }
export interface SamplingHeapProfile { head: SamplingHeapProfileNode; samples: SamplingHeapProfileSample[] }

/** One entry of `GET /json/list`. */
export interface TargetInfo { webSocketDebuggerUrl?: string; title?: string; type?: string; url?: string; id?: string }

/** Method name → [params, result]. */
export interface StandardDomains {
  'Runtime.getHeapUsage': [Empty, HeapUsage];
  'Runtime.evaluate': [{ expression: string; returnByValue?: boolean; awaitPromise?: boolean }, { result: { type: string; value?: unknown; description?: string }; exceptionDetails?: { text: string } }];
  'HeapProfiler.enable': [Empty, Empty];
  'HeapProfiler.disable': [Empty, Empty];
  'HeapProfiler.collectGarbage': [Empty, Empty];
  'HeapProfiler.takeHeapSnapshot': [{ reportProgress?: boolean; captureNumericValue?: boolean }, Empty];
  'HeapProfiler.startSampling': [{ samplingInterval?: number; stackDepth?: number }, Empty];
  'HeapProfiler.stopSampling': [Empty, { profile: SamplingHeapProfile }];
  'HeapProfiler.getSamplingProfile': [Empty, { profile: SamplingHeapProfile }];
}

/** Events Worker Lens listens to (standard ones, and the agent's task events). */
export interface CdpEvents {
  'HeapProfiler.addHeapSnapshotChunk': { chunk: string };
  'HeapProfiler.reportHeapSnapshotProgress': { done: number; total: number; finished?: boolean };
  'Python.taskEvent': TaskEvent;
}
