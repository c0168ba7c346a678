// Method name → [params, result] for every CDP method Worker Lens calls: the agent's Python domain
// (src/protocol/agent.ts) plus the standard methods both the agent and V8 serve.
import type { HeapUsage, PythonDomain } from '../protocol/agent';

type Empty = Record<string, never>;

export interface SamplingCallFrame { functionName: string; scriptId?: string; url: string; lineNumber: number; columnNumber: number }
export interface SamplingHeapProfileNode { callFrame: SamplingCallFrame; selfSize: number; id: number; children: SamplingHeapProfileNode[] }
export interface SamplingHeapProfile { head: SamplingHeapProfileNode; samples: { size: number; nodeId: number; ordinal: number }[] }

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

export type CdpMethods = PythonDomain & StandardDomains;
export type CdpMethod = keyof CdpMethods;
export type ParamsOf<M extends CdpMethod> = CdpMethods[M][0];
export type ResultOf<M extends CdpMethod> = CdpMethods[M][1];

/** Events Worker Lens listens to. */
export interface CdpEvents {
  'HeapProfiler.addHeapSnapshotChunk': { chunk: string };
  'HeapProfiler.reportHeapSnapshotProgress': { done: number; total: number; finished?: boolean };
  'Python.taskEvent': import('../protocol/agent').TaskEvent;
}
