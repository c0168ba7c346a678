// Progress of the long heap computations (parse, dominators, shortest paths). Pure code reports
// through a callback; a caller that wants to stop throws from it (src/heapWorker does, on cancel).

/** Called with work done so far and the total, in the computation's own units. */
export type Step = (done: number, total: number) => void;

export const noStep: Step = () => undefined;

/** Loops call `step` when (i & STEP_EVERY) === 0: every 262,144 iterations. */
export const STEP_EVERY = (1 << 18) - 1;

/** Phases of turning a snapshot into a HeapAnalysis, in order. */
export type AnalysisPhase = 'dominators' | 'paths' | 'summary';
