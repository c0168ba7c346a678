// Feeds the Memory timeline: the history of every attached worker from the attach on, kept in
// src/model/timelineHistory.ts (bounded) whether the panel is open or not, so opening it later shows
// everything. Cheap when nobody looks: every 2 s only RSS (read from /proc here: nothing runs in
// the worker for it; Node: the Workers view's scan) and V8's heap figure. A Python worker's heap
// figure (the gc-tracked objects' size) and the rest of its memory breakdown are one gc walk in the
// worker: taken from the Heap view's own polls when it makes them, else at most once per 30 s and
// ≤ 1 % of the worker's time. While the panel is open RSS is sampled every 2 s and the rest as
// often as the Heap view's budget allows (every 2 s on small heaps; a 1M-object walk every ~8 s).
// Task boundaries from the agent's Python.taskEvent; the Heap view's baseline as a marker.
import * as vscode from 'vscode';
import type { MemoryBreakdown, TaskEvent } from '../protocol/agent';
import type { TimelineMarker, TimelineSample, TimelineWorker } from '../protocol/webview';
import { WorkerHistory, backgroundHeapIntervalMs } from '../model/timelineHistory';
import { countBudget, refreshIntervalMs } from '../model/refreshBudget';
import { workerSharePercent } from './workerShare';
import { readRssBytes } from '../cdp/procScan';
import { TimelinePanel } from './panels/timelinePanel';
import type { Session, SessionManager } from './sessions';

const PERIOD_MS = 2000;
const FLUSH_MS = 500;

interface Followed {
  history: WorkerHistory;
  off?: () => void;
  busy: boolean;
  /** Next time a background heap + breakdown sample is due, and what the last one cost the worker. */
  nextHeapAt: number;
  heapCostMs: number | null;
  /** While the panel is open: next time a heap + breakdown sample may be taken (the Heap view's budget). */
  nextOpenHeapAt: number;
  postedFold?: string;
  lastTaskSampleT: number;
}

export class TimelineController implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private readonly followed = new Map<number, Followed>();
  private readonly openTasks = new Map<string, TimelineMarker>();
  private readonly subs: vscode.Disposable[] = [];
  private pendingSamples: TimelineSample[] = [];
  private pendingMarkers: TimelineMarker[] = [];
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(private readonly extensionUri: vscode.Uri, private readonly sessions: SessionManager, private readonly log: vscode.LogOutputChannel) {
    this.subs.push(
      sessions.onDidAttach(s => { this.follow(s); if (this.open) TimelinePanel.update([], [], [this.worker(s)]); }),
      sessions.onDidDetach(({ session }) => this.unfollow(session.pid)),
      // The Heap view's breakdowns are samples too: no second walk of the worker for the timeline.
      sessions.onDidMeasureMemory(({ session, breakdown }) => this.fromBreakdown(session, breakdown)),
    );
    for (const s of sessions.all()) this.follow(s);
  }

  private get open(): boolean { return !!TimelinePanel.currentPanel && !TimelinePanel.currentPanel.isDisposed; }

  show(): void {
    const wasOpen = this.open;
    const state = wasOpen ? undefined : {
      workers: this.sessions.all().map(s => this.worker(s)),
      samples: [...this.followed.values()].flatMap(f => f.history.samples()).sort((a, b) => a.t - b.t),
      markers: [...this.followed.values()].flatMap(f => f.history.markers()).sort((a, b) => a.t - b.t),
    };
    TimelinePanel.show(this.extensionUri, state, { onError: m => this.log.warn(`Timeline panel: ${m}`) });
    if (!wasOpen) void this.sample();   // every measure now, not in up to 2 s
  }

  /** Marks the Heap view's baseline on the timeline. */
  baseline(label: string): void {
    TimelinePanel.currentPanel?.setBaseline({ t: Date.now(), label });
  }

  private follow(s: Session): void {
    if (this.followed.has(s.pid)) return;
    const f: Followed = { history: new WorkerHistory(String(s.pid), Date.now()), busy: false, nextHeapAt: 0, heapCostMs: null, nextOpenHeapAt: 0, lastTaskSampleT: 0 };
    this.followed.set(s.pid, f);
    if (s.kind === 'python') {
      f.off = s.client.onEvent('Python.taskEvent', (e: TaskEvent) => this.onTask(s, e));
      s.client.python.enable({ timeoutMs: 5000 }).catch((e: Error) => this.log.warn(`task events of ${s.label}: ${e.message}`));
    }
    this.timer ??= setInterval(() => void this.sample(), PERIOD_MS);
  }

  private unfollow(pid: number): void {
    const f = this.followed.get(pid);
    if (!f) return;
    f.off?.();
    this.followed.delete(pid);
    for (const k of [...this.openTasks.keys()]) if (k.startsWith(`${pid}:`)) this.openTasks.delete(k);
    if (!this.followed.size && this.timer) { clearInterval(this.timer); this.timer = undefined; }
  }

  private onTask(s: Session, e: TaskEvent): void {
    const key = `${s.pid}:${e.taskId}`;
    const t = e.timestamp * 1000;
    if (e.phase === 'start') {
      this.openTasks.set(key, { workerId: String(s.pid), t, name: e.name });
      return;
    }
    const start = this.openTasks.get(key);
    this.openTasks.delete(key);
    const marker: TimelineMarker = { workerId: String(s.pid), t: start?.t ?? t, endT: t, name: e.name };
    // A task's end carries its RSS: a sample, at most one per sampling period (10 tasks/s would
    // otherwise fill the 6-h history in minutes).
    const f = this.followed.get(s.pid);
    const sample: TimelineSample[] = f && t - f.lastTaskSampleT >= PERIOD_MS ? [{ workerId: String(s.pid), t, rss: e.rssBytes }] : [];
    if (f && sample.length) f.lastTaskSampleT = t;
    this.record(s.pid, sample, [marker]);
  }

  /** Between heavy samples while the panel is open: what the Heap view's count budget allows. */
  private openHeapIntervalMs(s: Session, f: Followed): number {
    return refreshIntervalMs(PERIOD_MS, f.heapCostMs, countBudget(s.kind, workerSharePercent())) - FLUSH_MS;   // a tick's jitter: not one period late
  }

  private fromBreakdown(s: Session, b: MemoryBreakdown): void {
    const f = this.followed.get(s.pid);
    if (!f || b.rssBytes === null) return;
    f.nextHeapAt = Math.max(f.nextHeapAt, Date.now() + backgroundHeapIntervalMs(f.heapCostMs));
    f.nextOpenHeapAt = Math.max(f.nextOpenHeapAt, Date.now() + this.openHeapIntervalMs(s, f));
    this.record(s.pid, [{ workerId: String(s.pid), t: b.timestamp ? b.timestamp * 1000 : Date.now(), rss: b.rssBytes, ...breakdownSeries(b) }]);
  }

  private record(pid: number, samples: TimelineSample[], markers: TimelineMarker[] = []): void {
    const f = this.followed.get(pid);
    if (!f) return;
    for (const s of samples) f.history.add(s);
    for (const m of markers) f.history.addMarker(m);
    if (!this.open) return;
    // One message to the page per FLUSH_MS, not one per task (several busy workers send hundreds a second).
    this.pendingSamples.push(...samples);
    this.pendingMarkers.push(...markers);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      const [ss, ms] = [this.pendingSamples.splice(0), this.pendingMarkers.splice(0)];
      if (ss.length || ms.length) TimelinePanel.update(ss.sort((a, b) => a.t - b.t), ms.sort((a, b) => a.t - b.t));
    }, FLUSH_MS);
  }

  private async sample(): Promise<void> {
    const full = this.open;
    await Promise.all(this.sessions.all().map(async s => {
      const f = this.followed.get(s.pid);
      if (!f || f.busy) return;   // a slow worker: skip a tick rather than pile requests up
      f.busy = true;
      try {
        let sample: TimelineSample;
        if (s.kind === 'python') {
          const now = Date.now();
          const heavy = (full && now >= f.nextOpenHeapAt) || now >= f.nextHeapAt;
          const t0 = Date.now();
          // RSS between heavy samples: from /proc on this side, so the worker does nothing for it.
          const procRss = heavy || s.remote ? null : await readRssBytes(s.pid);   // a remote pid is not this machine's
          const [res, mem] = await Promise.all([procRss !== null ? { rssBytes: procRss } : s.client.python.getResourceCounts({ timeoutMs: 3000 }),
            heavy ? s.client.python.getMemoryBreakdown({ noArenas: true }, { timeoutMs: 3000 }).catch(() => null) : undefined]);
          // The breakdown's gc-tracked size is the heap figure (one walk, the same measure as the Heap view's); an older agent has none.
          const heap = heavy && !mem ? await s.client.runtime.getHeapUsage({ timeoutMs: 3000 }) : undefined;
          if (heavy) {
            // The breakdown says what its walk cost; the round trip bounds it otherwise.
            f.heapCostMs = mem?.costMs?.total !== undefined ? mem.costMs.total : Date.now() - t0;
            f.nextHeapAt = Date.now() + backgroundHeapIntervalMs(f.heapCostMs);
            f.nextOpenHeapAt = Date.now() + this.openHeapIntervalMs(s, f);
          }
          sample = { workerId: String(s.pid), t: Date.now(), rss: res.rssBytes, ...(heap ? { heapUsed: heap.usedSize } : {}), ...breakdownSeries(mem ?? null) };
        } else {
          const heap = await s.client.runtime.getHeapUsage({ timeoutMs: 3000 });   // V8 answers from its counters: cheap
          sample = { workerId: String(s.pid), t: Date.now(), heapUsed: heap.usedSize, rss: s.row?.rssBytes };
        }
        this.record(s.pid, [sample]);
        // Samples began to be folded (after 6 h): the panel says from when.
        const fold = `${f.history.foldedUntil}|${f.history.droppedMarkers > 0}`;
        if (this.open && fold !== f.postedFold) { f.postedFold = fold; TimelinePanel.update([], [], [this.worker(s)]); }
      } catch (e) {
        this.log.debug(`timeline sample of ${s.label}: ${(e as Error).message}`);
      } finally {
        f.busy = false;
      }
    }));
  }

  private worker(s: Session): TimelineWorker {
    const h = this.followed.get(s.pid)?.history;
    return {
      id: String(s.pid), label: s.label, ...(h ? { since: h.since } : {}), ...(h?.foldedUntil !== undefined ? { foldedUntil: h.foldedUntil } : {}),
      ...(h?.droppedMarkers && h.markers()[0] ? { markersSince: h.markers()[0].t } : {}),
    };
  }

  dispose(): void {
    if (this.timer) { clearInterval(this.timer); this.timer = undefined; }
    if (this.flushTimer) { clearTimeout(this.flushTimer); this.flushTimer = undefined; }
    for (const [pid, f] of this.followed) {
      f.off?.();
      void this.sessions.get(pid)?.client.python.disable({ timeoutMs: 3000 }).catch(() => undefined);
    }
    this.followed.clear();
    this.openTasks.clear();
    for (const d of this.subs) d.dispose();
  }
}

/** The memory breakdown's parts the timeline draws (absent when unavailable, e.g. an older agent); heap used = the gc-tracked objects' size. */
function breakdownSeries(b: MemoryBreakdown | null): Pick<TimelineSample, 'native' | 'mallocFree' | 'heapUsed'> {
  const get = (k: string) => { const p = b?.parts.find(x => x.key === k); return p && p.bytes !== null ? p.bytes : undefined; };
  const out: Pick<TimelineSample, 'native' | 'mallocFree' | 'heapUsed'> = {};
  const native = get('nativeOther'), free = get('mallocFree'), tracked = get('pythonTracked');
  if (native !== undefined) out.native = native;
  if (free !== undefined) out.mallocFree = free;
  if (tracked !== undefined) out.heapUsed = tracked;
  return out;
}
