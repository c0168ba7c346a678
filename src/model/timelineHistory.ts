// Pure: the Memory timeline's history of one attached worker, kept from the attach on whether the
// panel is open or not. Bounded: the last FINE_MS (6 h) at the rate samples come; older samples are
// folded into one point per COARSE_MS (1 min) holding the highest value of each measure (a leak's
// peaks survive; what was folded is said in the panel); at most COARSE_MAX coarse points (5 days).
import type { TimelineMarker, TimelineSample } from '../protocol/webview';

export const FINE_MS = 6 * 3600_000;
export const COARSE_MS = 60_000;
export const COARSE_MAX = 5 * 24 * 60;   // with FINE_MAX under the page's 20,000 per worker
/** 6 h of 2-s samples, with room for the faster samples of an open panel. */
export const FINE_MAX = 12_000;
export const MARKERS_MAX = 20_000;

const MEASURES = ['rss', 'heapUsed', 'native', 'mallocFree'] as const;

export class WorkerHistory {
  private fine: TimelineSample[] = [];
  private head = 0;   // fine[head..] are kept (compacted from time to time: appends stay O(1))
  private coarse: TimelineSample[] = [];
  private markerList: TimelineMarker[] = [];
  private markersDropped = 0;

  constructor(readonly workerId: string, readonly since: number, private readonly opts = { fineMs: FINE_MS, fineMax: FINE_MAX, coarseMs: COARSE_MS, coarseMax: COARSE_MAX, markersMax: MARKERS_MAX }) {}

  add(s: TimelineSample): void {
    this.fine.push(s);
    const newest = s.t;
    while (this.fine.length - this.head > this.opts.fineMax || (this.fine.length - this.head > 1 && this.fine[this.head].t < newest - this.opts.fineMs)) {
      this.fold(this.fine[this.head++]);
    }
    if (this.head > 1024 && this.head * 2 > this.fine.length) { this.fine = this.fine.slice(this.head); this.head = 0; }
  }

  addMarker(m: TimelineMarker): void {
    this.markerList.push(m);
    if (this.markerList.length > this.opts.markersMax * 1.25) {
      const cut = this.markerList.length - this.opts.markersMax;
      this.markerList.splice(0, cut);
      this.markersDropped += cut;
    }
  }

  /** Oldest first: the folded minutes, then the full-rate samples. */
  samples(): TimelineSample[] {
    return [...this.coarse, ...this.fine.slice(this.head)];
  }

  markers(): TimelineMarker[] { return [...this.markerList]; }

  /** Until when samples are folded (one point per minute before it), or undefined when none are. */
  get foldedUntil(): number | undefined {
    return this.coarse.length ? this.coarse[this.coarse.length - 1].t : undefined;
  }

  get droppedMarkers(): number { return this.markersDropped; }

  get size(): number { return this.coarse.length + this.fine.length - this.head; }

  private fold(s: TimelineSample): void {
    const bucket = Math.floor(s.t / this.opts.coarseMs) * this.opts.coarseMs;
    const last = this.coarse[this.coarse.length - 1];
    if (last && last.t === bucket) {
      for (const k of MEASURES) { const v = s[k]; if (v !== undefined) last[k] = Math.max(last[k] ?? v, v); }
      return;
    }
    const point: TimelineSample = { workerId: s.workerId, t: bucket };
    for (const k of MEASURES) if (s[k] !== undefined) point[k] = s[k];
    this.coarse.push(point);
    if (this.coarse.length > this.opts.coarseMax) this.coarse.shift();
  }
}

/** Milliseconds between background heap samples so that they cost the worker at most `budget` of its time. */
export function backgroundHeapIntervalMs(lastCostMs: number | null, minMs = 30_000, budget = 0.01): number {
  if (lastCostMs === null || lastCostMs <= 0) return minMs;
  return Math.max(minMs, Math.ceil(lastCostMs / budget / 1000) * 1000);
}
