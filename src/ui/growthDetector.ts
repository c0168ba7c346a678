// Adapts the Heap view's samples to the model's growth analysis: a type is flagged as growing when
// it grew steadily over the recent samples (one-off spikes and rise-and-fall are filtered there).
import type { CountSample, GrowthDetector } from './heapView';
import { findGrowthSuspects } from '../model/growth';

/** Samples considered: at the default 2 s interval, the last ~30 s. */
const WINDOW = 15;

export const growthDetector: GrowthDetector = (samples: readonly CountSample[]) => {
  const recent = samples.slice(-WINDOW).map(s => ({
    timestamp: s.timestamp,
    counts: new Map([...s.counts].map(([k, c]) => [k, c.count])),
    sizes: new Map([...s.counts].map(([k, c]) => [k, c.size])),
  }));
  return new Set(findGrowthSuspects(recent, { minDelta: 3 }).map(g => g.type));
};
