// The Heap view: live object counts per type of the selected worker, Δ since baseline, growing
// types flagged. Refreshes every workerLens.heap.refreshInterval seconds while visible; paused
// when hidden or by the user. Data comes from a HeapSource (an attached worker session).
import * as vscode from 'vscode';
import type { GetObjectCountsResult, ObjectCount, TrimMemoryResult } from '../protocol/agent';
import { heapTable, HeapRow, HeapSort, indexCounts } from '../model/heapTable';
import { formatBytes, formatCount, formatDelta } from '../common/format';
import { refreshIntervalMs, refreshNote } from '../model/refreshBudget';
import { MemoryHeader, MemoryNode, MemorySource } from './memoryHeader';

export interface HeapSource extends MemorySource {
  /** Shown in the view's message, e.g. "ForkPoolWorker-1 (pid 4242)". */
  readonly label: string;
  readonly pid: number;
  /** How a count is taken, for the view's cost note: "a full V8 heap snapshot". */
  readonly countMethod?: string;
  getObjectCounts(signal: AbortSignal): Promise<GetObjectCountsResult>;
}

export interface CountSample { timestamp: number; counts: ReadonlyMap<string, ObjectCount> }

/** Decides which type keys grow steadily over the recent samples (the model's growth ranking). */
export type GrowthDetector = (samples: readonly CountSample[]) => ReadonlySet<string>;

const MAX_SAMPLES = 120;

type HeapItem = HeapRow | MemoryNode;

export class HeapView implements vscode.TreeDataProvider<HeapItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<HeapItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private source: HeapSource | undefined;
  private latest: ObjectCount[] = [];
  private baseline: Map<string, ObjectCount> | null = null;
  private baselineAt = 0;
  private samples: CountSample[] = [];
  private growing: ReadonlySet<string> = new Set();
  private sort: HeapSort = 'delta';
  private filter = '';
  private paused = false;
  private timer: NodeJS.Timeout | undefined;
  /** The last count's pause of the worker (ms): stretches the interval (model/refreshBudget). */
  private lastPauseMs: number | null = null;
  private inFlight: AbortController | undefined;
  private lastError: string | undefined;
  private view: vscode.TreeView<HeapItem> | undefined;
  /** The header row: where the RSS is, the verdict, Trim now (memoryHeader.ts). */
  readonly memory: MemoryHeader;
  private readonly subs: vscode.Disposable[] = [];
  private readonly sourceChanged = new vscode.EventEmitter<HeapSource | undefined>();
  /** The worker shown changed (attach, select, detach): the Tasks view and the timeline follow. */
  readonly onDidChangeSource = this.sourceChanged.event;
  private readonly baselineSet = new vscode.EventEmitter<number>();
  /** The user set a baseline (ms since epoch): the timeline marks it. */
  readonly onDidSetBaseline = this.baselineSet.event;

  constructor(private readonly log: vscode.LogOutputChannel, private readonly detectGrowth: GrowthDetector) {
    this.memory = new MemoryHeader(log);
    this.subs.push(vscode.workspace.onDidChangeConfiguration(e => { if (e.affectsConfiguration('workerLens.heap.refreshInterval')) this.reschedule(); }));
  }

  attachView(view: vscode.TreeView<HeapItem>): void {
    this.view = view;
    this.subs.push(view.onDidChangeVisibility(() => this.reschedule()));
    this.updateMessage();
  }

  /** Shows `source` (or nothing): resets baseline and history, since counts of another process do not compare. */
  setSource(source: HeapSource | undefined): void {
    if (this.source === source) return;
    this.inFlight?.abort();
    this.source = source;
    this.latest = []; this.samples = []; this.baseline = null; this.growing = new Set(); this.lastError = undefined; this.lastPauseMs = null;
    this.memory.reset();
    void vscode.commands.executeCommand('setContext', 'workerLens.heap.hasSource', !!source);
    this.sourceChanged.fire(source);
    this.changed.fire(undefined);
    this.updateMessage();
    this.reschedule();
    if (source) void this.refresh();
  }

  get current(): HeapSource | undefined { return this.source; }

  /** The worker went away: keep the last numbers on screen, say so, stop polling. */
  markGone(pid: number, why: string): void {
    if (this.source?.pid !== pid) return;
    this.lastError = why;
    this.source = undefined;
    this.sourceChanged.fire(undefined);
    this.reschedule();
    this.updateMessage();
  }

  setBaseline(): void {
    this.baseline = indexCounts(this.latest);
    this.baselineAt = Date.now();
    this.baselineSet.fire(this.baselineAt);
    this.changed.fire(undefined);
    this.updateMessage();
  }

  setSort(sort: HeapSort): void { this.sort = sort; this.changed.fire(undefined); this.updateMessage(); }
  setFilter(filter: string): void { this.filter = filter; this.changed.fire(undefined); this.updateMessage(); }
  get filterText(): string { return this.filter; }

  setPaused(paused: boolean): void {
    this.paused = paused;
    void vscode.commands.executeCommand('setContext', 'workerLens.heap.paused', paused);
    this.reschedule();
    this.updateMessage();
  }

  rows(): HeapRow[] {
    return heapTable(this.latest, this.baseline, { sort: this.sort, filter: this.filter, growing: this.growing });
  }

  async refresh(): Promise<void> {
    const source = this.source;
    if (!source || this.inFlight) return;
    const ac = new AbortController();
    this.inFlight = ac;
    try {
      const r = await source.getObjectCounts(ac.signal);
      if (this.source !== source) return;
      this.latest = r.counts;
      const sample = { timestamp: r.timestamp, counts: indexCounts(r.counts) };
      this.samples.push(sample);
      if (this.samples.length > MAX_SAMPLES) this.samples.shift();
      if (!this.baseline) { this.baseline = sample.counts as Map<string, ObjectCount>; this.baselineAt = Date.now(); }
      this.growing = this.detectGrowth(this.samples);
      this.lastError = undefined;
      const interval = this.intervalMs();
      this.lastPauseMs = r.pauseMs;
      if (this.intervalMs() !== interval) this.reschedule();
      this.changed.fire(undefined);
      await this.memory.refresh(source, ac.signal, this.samples);
      if (this.source === source) this.changed.fire(undefined);
    } catch (e) {
      if (ac.signal.aborted) return;
      this.lastError = (e as Error).message;
      this.log.warn(`Heap: refresh of ${source.label} failed: ${this.lastError}`);
    } finally {
      if (this.inFlight === ac) this.inFlight = undefined;
      this.updateMessage();
    }
  }

  private reschedule(): void {
    if (this.timer) { clearInterval(this.timer); this.timer = undefined; }
    if (!this.source || this.paused || (this.view && !this.view.visible)) return;
    this.timer = setInterval(() => void this.refresh(), this.intervalMs());
  }

  private configuredMs(): number {
    return Math.max(0.5, vscode.workspace.getConfiguration('workerLens').get<number>('heap.refreshInterval', 2)) * 1000;
  }

  private intervalMs(): number {
    return refreshIntervalMs(this.configuredMs(), this.lastPauseMs);
  }

  private updateMessage(): void {
    if (!this.view) return;
    if (!this.source) { this.view.message = this.lastError ? `${this.lastError}` : undefined; return; }
    const parts = [`${this.source.label}`];
    if (this.baseline) parts.push(`Δ since ${new Date(this.baselineAt).toLocaleTimeString()}`);
    parts.push(`sorted by ${this.sort === 'delta' ? 'Δ' : this.sort}`);
    if (this.filter) parts.push(this.latest.length && !this.rows().length ? `no type matches “${this.filter}”` : `filter “${this.filter}”`);
    else parts.push('columns: count · Δ · size');
    if (this.paused) parts.push('paused');
    const cost = refreshNote(this.configuredMs(), this.lastPauseMs, this.source.countMethod ?? 'a count of every object');
    if (cost && !this.paused) parts.push(cost);
    if (this.lastError) parts.push(`last refresh failed: ${this.lastError}`);
    this.view.message = parts.join(' · ');
  }

  /** Trim now: malloc_trim(0) in the shown worker; the header then shows what came back. */
  async trimNow(): Promise<TrimMemoryResult> {
    const source = this.source;
    if (!source) throw new Error('no worker is shown in the Heap view');
    const r = await this.memory.trim(source);
    this.changed.fire(undefined);
    void this.refresh();
    return r;
  }

  getTreeItem(r: HeapItem): vscode.TreeItem {
    if ('kind' in r && r.kind === 'memory') return this.memory.treeItem(r);
    return this.rowItem(r as HeapRow);
  }

  private rowItem(r: HeapRow): vscode.TreeItem {
    const item = new vscode.TreeItem(r.label, vscode.TreeItemCollapsibleState.None);
    item.id = `heap-${r.key}`;
    item.description = `${formatCount(r.count)}  ${formatDelta(r.delta)}  ${formatBytes(r.size)}`;
    item.iconPath = r.growing ? new vscode.ThemeIcon('arrow-up', new vscode.ThemeColor('charts.red')) : new vscode.ThemeIcon('symbol-class');
    item.contextValue = r.growing ? 'heapType.growing' : 'heapType';
    item.tooltip = new vscode.MarkdownString(
      `**${r.module}.${r.type}**${r.growing ? ' — growing' : ''}\n\n| | |\n|---|---|\n| instances | ${formatCount(r.count)} |\n| Δ since baseline | ${formatDelta(r.delta)} |\n| size | ${formatBytes(r.size)} (${r.sizeDelta >= 0 ? '+' : ''}${formatBytes(r.sizeDelta)}) |`);
    item.accessibilityInformation = { label: `${r.label}: ${formatCount(r.count)} instances, change ${formatDelta(r.delta)}, ${formatBytes(r.size)}${r.growing ? ', growing' : ''}` };
    return item;
  }

  getChildren(r?: HeapItem): HeapItem[] {
    if (r) return 'kind' in r && r.kind === 'memory' ? r.children ?? [] : [];
    const head = this.source ? this.memory.root() : null;
    return head ? [head, ...this.rows()] : this.rows();
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.inFlight?.abort();
    this.changed.dispose();
    this.sourceChanged.dispose();
    this.baselineSet.dispose();
    for (const s of this.subs) s.dispose();
  }
}
