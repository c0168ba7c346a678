// Feeds the Memory timeline panel: every 2 s, RSS and heap usage of each attached worker; task
// boundaries from the agent's Python.taskEvent; the Heap view's baseline as a marker. Sampling runs
// only while the panel is open.
import * as vscode from 'vscode';
import type { MemoryBreakdown, TaskEvent } from '../protocol/agent';
import type { TimelineMarker, TimelineSample, TimelineWorker } from '../protocol/webview';
import { TimelinePanel } from './panels/timelinePanel';
import type { Session, SessionManager } from './sessions';

const PERIOD_MS = 2000;

export class TimelineController implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private readonly subscribed = new Map<number, () => void>();
  private readonly openTasks = new Map<string, TimelineMarker>();
  private readonly subs: vscode.Disposable[] = [];

  constructor(private readonly extensionUri: vscode.Uri, private readonly sessions: SessionManager, private readonly log: vscode.LogOutputChannel) {
    this.subs.push(
      sessions.onDidAttach(s => { if (this.open) { TimelinePanel.update([], [], [worker(s)]); void this.follow(s); } }),
      sessions.onDidDetach(({ session }) => { this.subscribed.get(session.pid)?.(); this.subscribed.delete(session.pid); }),
    );
  }

  private get open(): boolean { return !!TimelinePanel.currentPanel && !TimelinePanel.currentPanel.isDisposed; }

  show(): void {
    const wasOpen = this.open;
    const panel = TimelinePanel.show(this.extensionUri, wasOpen ? undefined : { workers: this.sessions.all().map(worker), samples: [], markers: [] },
      { onError: m => this.log.warn(`Timeline panel: ${m}`) });
    if (wasOpen) return;
    for (const s of this.sessions.all()) void this.follow(s);
    this.timer = setInterval(() => void this.sample(), PERIOD_MS);
    void this.sample();
    panel.onDidDispose(() => this.stop());
  }

  /** Marks the Heap view's baseline on the timeline. */
  baseline(label: string): void {
    TimelinePanel.currentPanel?.setBaseline({ t: Date.now(), label });
  }

  private async follow(s: Session): Promise<void> {
    if (s.kind !== 'python' || this.subscribed.has(s.pid)) return;
    const off = s.client.onEvent('Python.taskEvent', (e: TaskEvent) => this.onTask(s, e));
    this.subscribed.set(s.pid, off);
    try { await s.client.python.enable({ timeoutMs: 5000 }); } catch (e) { this.log.warn(`task events of ${s.label}: ${(e as Error).message}`); }
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
    TimelinePanel.update([{ workerId: String(s.pid), t, rss: e.rssBytes }], [{ workerId: String(s.pid), t: start?.t ?? t, endT: t, name: e.name }]);
  }

  private async sample(): Promise<void> {
    const out: TimelineSample[] = [];
    await Promise.all(this.sessions.all().map(async s => {
      try {
        if (s.kind === 'python') {
          const [res, heap, mem] = await Promise.all([s.client.python.getResourceCounts({ timeoutMs: 3000 }), s.client.runtime.getHeapUsage({ timeoutMs: 3000 }),
            s.client.python.getMemoryBreakdown({ noArenas: true }, { timeoutMs: 3000 }).catch(() => null)]);
          out.push({ workerId: String(s.pid), t: Date.now(), rss: res.rssBytes, heapUsed: heap.usedSize, ...breakdownSeries(mem) });
        } else {
          const heap = await s.client.runtime.getHeapUsage({ timeoutMs: 3000 });
          out.push({ workerId: String(s.pid), t: Date.now(), heapUsed: heap.usedSize, rss: s.row?.rssBytes });
        }
      } catch (e) {
        this.log.debug(`timeline sample of ${s.label}: ${(e as Error).message}`);
      }
    }));
    if (out.length) TimelinePanel.update(out.sort((a, b) => a.t - b.t));
  }

  private stop(): void {
    if (this.timer) { clearInterval(this.timer); this.timer = undefined; }
    for (const [pid, off] of this.subscribed) {
      off();
      void this.sessions.get(pid)?.client.python.disable({ timeoutMs: 3000 }).catch(() => undefined);
    }
    this.subscribed.clear();
    this.openTasks.clear();
  }

  dispose(): void {
    this.stop();
    for (const d of this.subs) d.dispose();
  }
}

/** The memory breakdown's parts the timeline draws (absent when unavailable, e.g. an older agent). */
function breakdownSeries(b: MemoryBreakdown | null): Pick<TimelineSample, 'native' | 'mallocFree'> {
  const get = (k: string) => { const p = b?.parts.find(x => x.key === k); return p && p.bytes !== null ? p.bytes : undefined; };
  return { native: get('nativeOther'), mallocFree: get('mallocFree') };
}

function worker(s: Session): TimelineWorker {
  return { id: String(s.pid), label: s.label };
}
