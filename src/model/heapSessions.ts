// Pure: what the Heap view remembers per attached worker — its last counts, its baseline (so Δ
// survives switching the view to another worker and back), recent samples for the growth model,
// and the retained sizes of its last analysed snapshot. One state per pid; dropped on detach.
import type { ObjectCount } from '../protocol/agent';
import type { RetainedSizes } from './heapTable';
import { indexCounts } from './heapTable';

export interface CountSample { timestamp: number; counts: ReadonlyMap<string, ObjectCount> }

export const MAX_SAMPLES = 120;

export interface HeapSessionState<M> {
  readonly pid: number;
  latest: ObjectCount[];
  baseline: Map<string, ObjectCount> | null;
  /** ms since epoch. */
  baselineAt: number;
  samples: CountSample[];
  growing: ReadonlySet<string>;
  lastPauseMs: number | null;
  /** Objects the agent keeps that the last count left out, by type (its reply's ownExcluded). */
  ownExcluded?: Readonly<Record<string, number | undefined>>;
  retained: RetainedSizes | null;
  /** Per-session extra state of the host (the memory header). */
  readonly memory: M;
}

export class HeapSessionStore<M> {
  private readonly states = new Map<number, HeapSessionState<M>>();
  constructor(private readonly makeMemory: () => M) {}

  /** The state of `pid`, created empty on first use. */
  of(pid: number): HeapSessionState<M> {
    let s = this.states.get(pid);
    if (!s) {
      s = { pid, latest: [], baseline: null, baselineAt: 0, samples: [], growing: new Set(), lastPauseMs: null, retained: null, memory: this.makeMemory() };
      this.states.set(pid, s);
    }
    return s;
  }

  has(pid: number): boolean { return this.states.has(pid); }
  drop(pid: number): void { this.states.delete(pid); }
  pids(): number[] { return [...this.states.keys()]; }
}

/** Records one count; the first one becomes the baseline (Δ counts from the attach). */
export function recordCounts<M>(s: HeapSessionState<M>, counts: ObjectCount[], timestamp: number, now = Date.now()): CountSample {
  s.latest = counts;
  const sample = { timestamp, counts: indexCounts(counts) };
  s.samples.push(sample);
  if (s.samples.length > MAX_SAMPLES) s.samples.shift();
  if (!s.baseline) { s.baseline = sample.counts; s.baselineAt = now; }
  return sample;
}

/** The user's "Set Baseline": Δ counts from the counts shown now. */
export function setBaseline<M>(s: HeapSessionState<M>, now = Date.now()): void {
  s.baseline = indexCounts(s.latest);
  s.baselineAt = now;
}
