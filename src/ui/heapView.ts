// The Heap view (a webview view in the Worker Lens sidebar, src/webview/heapTableView.ts draws it):
// live object counts per type of the selected worker, Δ since baseline, shallow and retained
// sizes, growing types flagged, the memory header. Refreshes every workerLens.heap.refreshInterval
// seconds while visible; paused when hidden or by the user. Each attached worker keeps its own
// baseline, samples and retained sizes (model/heapSessions.ts): switching workers loses no Δ.
import * as vscode from 'vscode';
import type { GetObjectCountsResult, ObjectCount, TrimMemoryResult } from '../protocol/agent';
import { defaultDirection, heapTable, HeapRow, HeapSort, RetainedSizes, SortDirection } from '../model/heapTable';
import { CountSample, HeapSessionState, HeapSessionStore, recordCounts, setBaseline } from '../model/heapSessions';
import { countBudget, refreshIntervalMs, refreshNote } from '../model/refreshBudget';
import { workerSharePercent } from './workerShare';
import { MemoryHeader, MemorySource } from './memoryHeader';
import { isWebviewToHostMessage } from '../protocol/webview';
import { isHeapToHostMessage, type HeapViewState, type HostToHeapMessage } from '../protocol/heapView';
import { makeNonce, panelHtml } from './panels/panelHtml';

export type { CountSample } from '../model/heapSessions';

export interface HeapSource extends MemorySource {
  /** Shown in the view's message, e.g. "ForkPoolWorker-1 (pid 4242)". */
  readonly label: string;
  readonly pid: number;
  /** How a count is taken, for the view's cost note: "a full V8 heap snapshot". */
  readonly countMethod?: string;
  getObjectCounts(signal: AbortSignal): Promise<GetObjectCountsResult>;
}

/** Decides which type keys grow steadily over the recent samples (the model's growth ranking). */
export type GrowthDetector = (samples: readonly CountSample[]) => ReadonlySet<string>;

export const HEAP_VIEW_ID = 'workerLens.heap';

export class HeapView implements vscode.WebviewViewProvider, vscode.Disposable {
  private source: HeapSource | undefined;
  /** The state shown: the source's, or the last one of a worker that went away. */
  private shown: HeapSessionState<MemoryHeader> | undefined;
  private readonly store: HeapSessionStore<MemoryHeader>;
  private sort: HeapSort = 'delta';
  private direction: SortDirection = 'desc';
  private filter = '';
  private paused = false;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: AbortController | undefined;
  private lastError: string | undefined;
  private view: vscode.WebviewView | undefined;
  private ready = false;
  private readonly subs: vscode.Disposable[] = [];
  private readonly sourceChanged = new vscode.EventEmitter<HeapSource | undefined>();
  /** The worker shown changed (attach, select, detach): the Tasks view and the timeline follow. */
  readonly onDidChangeSource = this.sourceChanged.event;
  private readonly baselineSet = new vscode.EventEmitter<number>();
  /** The user set a baseline (ms since epoch): the timeline marks it. */
  readonly onDidSetBaseline = this.baselineSet.event;
  private readonly rendered = new vscode.EventEmitter<HeapViewState>();
  /** A state was posted to the page (integration tests read what the user sees). */
  readonly onDidRender = this.rendered.event;

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: vscode.LogOutputChannel, private readonly detectGrowth: GrowthDetector) {
    this.store = new HeapSessionStore(() => new MemoryHeader(log));
    this.subs.push(vscode.workspace.onDidChangeConfiguration(e => { if (e.affectsConfiguration('workerLens.heap.refreshInterval')) this.reschedule(); }));
  }

  /** Registers the view; its id and place in the sidebar are the tree's were. */
  register(): vscode.Disposable {
    return vscode.window.registerWebviewViewProvider(HEAP_VIEW_ID, this);
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    const scripts = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    view.webview.options = { enableScripts: true, localResourceRoots: [scripts, media] };
    view.webview.html = panelHtml({
      panel: 'heap', title: 'Heap', cspSource: view.webview.cspSource, nonce: makeNonce(),
      scriptUri: view.webview.asWebviewUri(vscode.Uri.joinPath(scripts, 'heapMain.js')).toString(),
      styleUri: view.webview.asWebviewUri(vscode.Uri.joinPath(media, 'heapView.css')).toString(),
    });
    // a collapsed view's page is disposed and resolved anew when expanded: its listeners go with it
    const viewSubs: vscode.Disposable[] = [];
    viewSubs.push(
      view.webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
      // shown again: send the current state (a page that reloaded asks with 'ready' anyway; one that was
      // kept would otherwise show what it had when it was folded)
      view.onDidChangeVisibility(() => { if (view.visible) this.post(); this.reschedule(); }),
      view.onDidDispose(() => {
        for (const d of viewSubs) d.dispose();
        if (this.view === view) { this.view = undefined; this.ready = false; this.reschedule(); }
      }),
    );
    this.reschedule();
  }

  private receive(m: unknown): void {
    if (isWebviewToHostMessage(m)) {
      if (m.type === 'ready') { this.ready = true; this.post(); }
      else if (m.type === 'error') this.log.warn(`Heap view page: ${m.message}`);
      return;
    }
    if (!isHeapToHostMessage(m)) return;
    switch (m.type) {
      case 'heap/sort': this.setSort(m.sort, m.direction); break;
      case 'heap/filter': this.setFilter(m.text); break;
      case 'heap/showRetainers': {
        const row = this.rows().find(r => r.key === m.key);
        if (row) void vscode.commands.executeCommand('workerLens.heap.showRetainers', row);
        break;
      }
      case 'heap/command':
        void vscode.commands.executeCommand(m.command === 'attach' ? 'workerLens.attach' : m.command === 'trim' ? 'workerLens.heap.trimMemory' : 'workerLens.takeSnapshot');
        break;
    }
  }

  /** Shows `source` (or nothing). Each worker keeps its own baseline and history across switches. */
  setSource(source: HeapSource | undefined): void {
    if (this.source === source && (!source || this.shown?.pid === source.pid)) return;
    this.inFlight?.abort();
    this.inFlight = undefined;
    this.source = source;
    this.shown = source ? this.store.of(source.pid) : undefined;
    if (source) { this.recent = this.recent.filter(p => p !== source.pid); this.recent.push(source.pid); }
    this.lastError = undefined;
    void vscode.commands.executeCommand('setContext', 'workerLens.heap.hasSource', !!source);
    this.sourceChanged.fire(source);
    this.post();
    this.reschedule();
    if (source) void this.refresh();
  }

  get current(): HeapSource | undefined { return this.source; }

  /** The worker went away: keep the last numbers on screen, say so, stop polling. */
  markGone(pid: number, why: string): void {
    this.recent = this.recent.filter(p => p !== pid);
    if (this.source?.pid !== pid) { this.store.drop(pid); return; }
    this.lastError = why;
    this.source = undefined;
    this.store.drop(pid); // its state stays on screen (this.shown) until another worker is shown
    this.sourceChanged.fire(undefined);
    this.reschedule();
    this.post();
  }

  /** A worker was detached: its baseline and history go with it. */
  forget(pid: number): void {
    this.store.drop(pid);
    this.recent = this.recent.filter(p => p !== pid);
  }

  /** Pids shown before, most recent last: after a Detach the view goes back to the worker seen before. */
  recentlyShown(): readonly number[] { return this.recent; }
  private recent: number[] = [];

  /** Retained sizes of `pid`'s last analysed snapshot (Show Retainers, Take Heap Snapshot). */
  setRetained(pid: number, r: RetainedSizes): void {
    if (!this.store.has(pid) && this.source?.pid !== pid) return;
    this.store.of(pid).retained = r;
    if (this.shown?.pid === pid) this.post();
  }

  setBaseline(): void {
    const s = this.shown;
    if (!s) return;
    setBaseline(s);
    this.baselineSet.fire(s.baselineAt);
    this.post();
  }

  setSort(sort: HeapSort, direction: SortDirection = defaultDirection(sort)): void { this.sort = sort; this.direction = direction; this.post(); }
  setFilter(filter: string): void { this.filter = filter; this.post(); }
  get filterText(): string { return this.filter; }

  setPaused(paused: boolean): void {
    this.paused = paused;
    void vscode.commands.executeCommand('setContext', 'workerLens.heap.paused', paused);
    this.reschedule();
    this.post();
  }

  rows(): HeapRow[] {
    const s = this.shown;
    if (!s) return [];
    return heapTable(s.latest, s.baseline, { sort: this.sort, direction: this.direction, filter: this.filter, growing: s.growing, retained: s.retained });
  }

  /** Baseline time (ms) of the shown worker; 0 without one. */
  get baselineAt(): number { return this.shown?.baseline ? this.shown.baselineAt : 0; }

  async refresh(): Promise<void> {
    const source = this.source;
    const state = this.shown;
    if (!source || !state || this.inFlight) return;
    const ac = new AbortController();
    this.inFlight = ac;
    try {
      const r = await source.getObjectCounts(ac.signal);
      if (this.source !== source) return;
      recordCounts(state, r.counts, r.timestamp);
      state.growing = this.detectGrowth(state.samples);
      this.lastError = undefined;
      state.ownExcluded = r.ownExcluded;
      this.sizesHow = r.counts.some(c => c.sizeSampled) ? 'Containers (≈) are sampled: count × the mean size of an evenly strided sample (taken every 5th count or 10 s); fixed-size types are exact.' : 'Exact for every type shown.';
      this.post();
      await state.memory.refresh(source, ac.signal, state.samples);
      // the interval budgets the whole refresh: the count's pause and the breakdown's cost
      const whole = (r.pauseMs ?? 0) + state.memory.lastCostMs;
      if (this.source === source && whole !== state.lastPauseMs) {
        const before = this.intervalMs();
        state.lastPauseMs = whole;
        if (this.intervalMs() !== before) this.reschedule();
      }
    } catch (e) {
      if (ac.signal.aborted) return;
      this.lastError = (e as Error).message;
      this.log.warn(`Heap: refresh of ${source.label} failed: ${this.lastError}`);
    } finally {
      if (this.inFlight === ac) this.inFlight = undefined;
      if (this.source === source) this.post();
    }
  }

  private sizesHow = '';

  /** The status line's tooltip: how a count is taken and what it leaves out. */
  statusTitle(): string {
    if (!this.source) return '';
    const lines = [`Counts: ${this.source.countMethod ?? 'every object the gc tracks, by type'}` +
      (this.shown?.lastPauseMs != null ? ` (the last refresh, with the memory breakdown, took ${Math.round(this.shown.lastPauseMs)} ms of the worker's time).` : '.')];
    const own = Object.entries(this.shown?.ownExcluded ?? {}).filter(([, n]) => (n ?? 0) > 0);
    if (own.length) lines.push(`Left out: ${own.map(([t, n]) => `${n} ${t}`).join(', ')} the agent itself keeps (frame dicts its reads attach, its flight report), so they never show as growth.`);
    return lines.join('\n');
  }

  private reschedule(): void {
    if (this.timer) { clearInterval(this.timer); this.timer = undefined; }
    if (!this.source || this.paused || !this.view?.visible) return;
    this.timer = setInterval(() => void this.refresh(), this.intervalMs());
  }

  private configuredMs(): number {
    return Math.max(0.5, vscode.workspace.getConfiguration('workerLens').get<number>('heap.refreshInterval', 2)) * 1000;
  }

  private intervalMs(): number {
    return refreshIntervalMs(this.configuredMs(), this.shown?.lastPauseMs ?? null, countBudget(this.source?.kind, workerSharePercent()));
  }

  /** The status line above the table. */
  message(rows: HeapRow[]): string {
    const s = this.shown;
    if (!this.source) return this.lastError ?? '';
    const parts = [`${this.source.label}`];
    if (s?.baseline) parts.push(`Δ since ${new Date(s.baselineAt).toLocaleTimeString()}`);
    if (this.filter) parts.push(s?.latest.length && !rows.length ? `no type matches “${this.filter}”` : `filter “${this.filter}”`);
    if (this.paused) parts.push('paused');
    if (this.lastError) parts.push(`last refresh failed: ${this.lastError}`);
    return parts.join(' · ');
  }

  /** What counting costs the worker (refreshNote), when it matters. */
  costNote(): string {
    if (!this.source || this.paused) return '';
    return refreshNote(this.configuredMs(), this.shown?.lastPauseMs ?? null, this.source.countMethod ?? 'a count of every object', countBudget(this.source.kind, workerSharePercent())) ?? '';
  }

  /** What the page shows now. */
  viewState(): HeapViewState {
    const s = this.shown;
    const rows = this.rows();
    const kind = this.source?.kind ?? null;
    return {
      hasSource: !!s, status: this.message(rows), statusTitle: this.statusTitle(), costNote: this.costNote(), sort: this.sort, direction: this.direction, filter: this.filter, paused: this.paused,
      rows, total: s?.latest.length ?? 0, memory: this.source && s ? s.memory.root() : null,
      shallowHow: kind === 'node' ? 'From a V8 heap snapshot (self sizes): exact.' : this.sizesHow, runtime: kind,
    };
  }

  private post(): void {
    if (!this.view || !this.ready) return;
    const state = this.viewState();
    const m: HostToHeapMessage = { type: 'heap/state', state };
    void this.view.webview.postMessage(m);
    this.rendered.fire(state);
  }

  /** Trim now: malloc_trim(0) in the shown worker; the header then shows what came back. */
  async trimNow(): Promise<TrimMemoryResult> {
    const source = this.source;
    const s = this.shown;
    if (!source || !s) throw new Error('no worker is shown in the Heap view');
    const r = await s.memory.trim(source);
    this.post();
    void this.refresh();
    return r;
  }

  /** Counts of the shown worker by type key (tests). */
  latestCounts(): readonly ObjectCount[] { return this.shown?.latest ?? []; }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.inFlight?.abort();
    this.sourceChanged.dispose();
    this.baselineSet.dispose();
    this.rendered.dispose();
    for (const s of this.subs) s.dispose();
  }
}
