// Samples of the Memory timeline, kept per worker in time order, with the queries the chart needs:
// extents, nearest sample (hover), and per-pixel min/max decimation so a long run draws in O(width).
// Pure (no DOM) so it is unit tested in Node.

import type { TimelineBaseline, TimelineMarker, TimelineSample, TimelineState, TimelineWorker } from '../protocol/webview';

/** RSS, heap used, and two parts of the memory breakdown (issue 12): native rest, free memory malloc holds. */
export type Metric = 'rss' | 'heapUsed' | 'native' | 'mallocFree';
export const METRICS: Metric[] = ['rss', 'heapUsed', 'native', 'mallocFree'];

export type Series = {
  worker: TimelineWorker;
  t: number[];
  /** Largest and smallest value per metric, kept up to date on add so a render does not scan every sample. */
  max: Record<Metric, number>;
  min: Record<Metric, number>;
} & Record<Metric, (number | undefined)[]>;

const newSeries = (worker: TimelineWorker): Series => ({
  worker, t: [], rss: [], heapUsed: [], native: [], mallocFree: [],
  max: { rss: 0, heapUsed: 0, native: 0, mallocFree: 0 }, min: { rss: Infinity, heapUsed: Infinity, native: Infinity, mallocFree: Infinity },
});

/** A line is broken where consecutive samples of a measure lie further apart than this (the worker was detached or did not answer). */
export const GAP_MS = 15_000;

/** Oldest samples are dropped past this many per worker (about 11 h at one sample every 2 s). */
export const MAX_SAMPLES_PER_WORKER = 20_000;
export const MAX_MARKERS = 5_000;

export class TimelineStore {
  readonly series = new Map<string, Series>();
  markers: TimelineMarker[] = [];
  baseline: TimelineBaseline | undefined;
  /** Samples dropped by the cap, to say so in the panel. */
  dropped = 0;

  constructor(private readonly maxSamples = MAX_SAMPLES_PER_WORKER, private readonly maxMarkers = MAX_MARKERS) {}

  reset(state: TimelineState): void {
    this.series.clear();
    this.markers = [];
    this.dropped = 0;
    this.baseline = state.baseline ?? undefined;
    this.addWorkers(state.workers);
    this.addSamples(state.samples);
    this.addMarkers(state.markers);
  }

  addWorkers(workers: TimelineWorker[]): void {
    for (const w of workers) {
      const s = this.series.get(w.id);
      if (s) s.worker = w; else this.series.set(w.id, newSeries(w));
    }
  }

  /** True when some worker has a value of this measure (Node workers have no mallocFree, older agents no native). */
  hasData(m: Metric): boolean {
    for (const s of this.series.values()) if (s.min[m] < Infinity) return true;
    return false;
  }

  /** Adds samples (in order or not); returns the ids of the workers that changed. */
  addSamples(samples: TimelineSample[]): Set<string> {
    const touched = new Set<string>();
    for (const s of samples) {
      let ser = this.series.get(s.workerId);
      if (!ser) { ser = newSeries({ id: s.workerId, label: s.workerId }); this.series.set(s.workerId, ser); }
      for (const m of METRICS) {
        const v = s[m];
        if (v === undefined) continue;
        if (v > ser.max[m]) ser.max[m] = v;
        if (v < ser.min[m]) ser.min[m] = v;
      }
      const n = ser.t.length;
      if (n === 0 || s.t >= ser.t[n - 1]) {
        ser.t.push(s.t);
        for (const m of METRICS) ser[m].push(s[m]);
      } else {
        const i = lowerBound(ser.t, s.t);
        ser.t.splice(i, 0, s.t);
        for (const m of METRICS) ser[m].splice(i, 0, s[m]);
      }
      touched.add(s.workerId);
    }
    for (const id of touched) {
      const ser = this.series.get(id)!;
      const extra = ser.t.length - this.maxSamples;
      if (extra > 0) {
        ser.t.splice(0, extra); this.dropped += extra;
        for (const m of METRICS) ser[m].splice(0, extra);
        for (const m of METRICS) {
          let mx = 0, mn = Infinity;
          for (const v of ser[m]) if (v !== undefined) { if (v > mx) mx = v; if (v < mn) mn = v; }
          ser.max[m] = mx; ser.min[m] = mn;
        }
      }
    }
    return touched;
  }

  addMarkers(markers: TimelineMarker[]): void {
    for (const m of markers) {
      if (this.markers.length === 0 || m.t >= this.markers[this.markers.length - 1].t) this.markers.push(m);
      else this.markers.splice(lowerBound(this.markers.map(x => x.t), m.t), 0, m);
    }
    if (this.markers.length > this.maxMarkers) this.markers.splice(0, this.markers.length - this.maxMarkers);
  }

  /** [first, last] sample or marker time, or undefined when empty. */
  timeExtent(): [number, number] | undefined {
    let lo = Infinity, hi = -Infinity;
    for (const s of this.series.values()) if (s.t.length) { lo = Math.min(lo, s.t[0]); hi = Math.max(hi, s.t[s.t.length - 1]); }
    if (this.markers.length) { lo = Math.min(lo, this.markers[0].t); hi = Math.max(hi, this.markers[this.markers.length - 1].t); }
    if (this.baseline) { lo = Math.min(lo, this.baseline.t); hi = Math.max(hi, this.baseline.t); }
    return lo <= hi ? [lo, hi] : undefined;
  }

  /** [smallest, largest] value of one measure over the shown workers, or undefined when none has one. */
  range(metric: Metric, hidden: Set<string> = new Set()): [number, number] | undefined {
    let lo = Infinity, hi = -Infinity;
    for (const [id, s] of this.series) {
      if (hidden.has(id) || s.min[metric] > s.max[metric]) continue;
      lo = Math.min(lo, s.min[metric]); hi = Math.max(hi, s.max[metric]);
    }
    return lo <= hi ? [lo, hi] : undefined;
  }

  /** Index of the sample of `workerId` closest in time to `t`, or -1. */
  nearest(workerId: string, t: number): number {
    const s = this.series.get(workerId);
    if (!s || s.t.length === 0) return -1;
    const i = lowerBound(s.t, t);
    if (i === 0) return 0;
    if (i === s.t.length) return i - 1;
    return t - s.t[i - 1] <= s.t[i] - t ? i - 1 : i;
  }

  /** All sample times of all workers, sorted and deduplicated (keyboard cursor steps). */
  allTimes(): number[] {
    const set = new Set<number>();
    for (const s of this.series.values()) for (const t of s.t) set.add(t);
    return [...set].sort((a, b) => a - b);
  }
}

/**
 * Points to draw for one metric: every sample when there are fewer than ~2 per pixel, otherwise
 * the first, min, max and last sample of each pixel column (the line looks the same, spikes kept).
 * Samples without this metric are skipped (task-end samples carry RSS only, and must not cut the
 * heap line into dots); the line is split (null) only where defined samples are more than GAP_MS apart.
 */
export function decimate(t: number[], v: (number | undefined)[], t0: number, t1: number, pixels: number): ([number, number] | null)[] {
  const n = t.length;
  const out: ([number, number] | null)[] = [];
  let prevT = NaN;
  const push = (k: number) => {
    if (t[k] - prevT > GAP_MS) out.push(null);
    out.push([t[k], v[k]!]);
    prevT = t[k];
  };
  if (n <= pixels * 2 || t1 <= t0) {
    for (let i = 0; i < n; i++) if (v[i] !== undefined) push(i);
    return out;
  }
  const span = (t1 - t0) / pixels;
  let i = 0;
  while (i < n) {
    const col = Math.floor((t[i] - t0) / span);
    let first = -1, last = -1, lo = -1, hi = -1;
    for (; i < n && Math.floor((t[i] - t0) / span) === col; i++) {
      const y = v[i];
      if (y === undefined) continue;
      if (first < 0) first = i;
      last = i;
      if (lo < 0 || y < v[lo]!) lo = i;
      if (hi < 0 || y > v[hi]!) hi = i;
    }
    if (first < 0) continue;
    for (const k of [...new Set([first, lo, hi, last])].sort((a, b) => a - b)) push(k);
  }
  return out;
}

function lowerBound(xs: number[], x: number): number {
  let lo = 0, hi = xs.length;
  while (lo < hi) { const mid = (lo + hi) >>> 1; if (xs[mid] < x) lo = mid + 1; else hi = mid; }
  return lo;
}
