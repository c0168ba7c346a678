// The Allocations view: sampled allocation tracking in the attached worker (tracemalloc in the
// Python agent via HeapProfiler.startSampling; V8's sampler in Node), top lines by live size or
// by growth since the baseline, click → source, and editor decorations on those lines.
// Off by default (it costs the worker time), and stopped when the view is closed.
import * as vscode from 'vscode';
import type { Session } from './sessions';
import { allocationSites, AllocationSite, AllocationSort, compareAllocations } from '../model/allocations';
import { formatBytes, formatCount } from '../common/format';

const REFRESH_MS = 3000;

export class AllocationsView implements vscode.TreeDataProvider<AllocationSite>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<AllocationSite | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private session: Session | undefined;
  private baseline: Map<string, AllocationSite> | null = null;
  private current = new Map<string, AllocationSite>();
  private sort: AllocationSort = 'growth';
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private view: vscode.TreeView<AllocationSite> | undefined;
  private readonly decoration = vscode.window.createTextEditorDecorationType({
    after: { margin: '0 0 0 2em', color: new vscode.ThemeColor('editorCodeLens.foreground'), fontStyle: 'italic' },
    overviewRulerColor: new vscode.ThemeColor('charts.red'), overviewRulerLane: vscode.OverviewRulerLane.Right,
  });
  private readonly subs: vscode.Disposable[] = [];

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.subs.push(vscode.window.onDidChangeVisibleTextEditors(() => this.decorate()));
  }

  attachView(view: vscode.TreeView<AllocationSite>): void {
    this.view = view;
    // Tracking slows the worker: it runs only while someone looks at it.
    this.subs.push(view.onDidChangeVisibility(e => { if (!e.visible && this.session) void this.stop('the Allocations view was closed'); }));
  }

  get tracking(): boolean { return !!this.session; }

  async start(session: Session): Promise<void> {
    if (this.session) await this.stop(null);
    await session.client.heapProfiler.startSampling({ samplingInterval: 32768, stackDepth: 16 });
    this.session = session;
    this.startedAt = Date.now();
    this.baseline = null;
    this.current = new Map();
    void vscode.commands.executeCommand('setContext', 'workerLens.allocations.tracking', true);
    this.log.info(`allocation tracking started in ${session.label}`);
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    await this.refresh();
  }

  /** reason null: the user stopped it. */
  async stop(reason: string | null): Promise<void> {
    const s = this.session;
    if (!s) return;
    this.session = undefined;
    if (this.timer) { clearInterval(this.timer); this.timer = undefined; }
    void vscode.commands.executeCommand('setContext', 'workerLens.allocations.tracking', false);
    try { await s.client.heapProfiler.stopSampling({ timeoutMs: 5000 }); } catch (e) { this.log.warn(`stopSampling in ${s.label}: ${(e as Error).message}`); }
    this.log.info(`allocation tracking stopped in ${s.label}${reason ? `: ${reason}` : ''}`);
    this.updateMessage(reason ? `Tracking stopped: ${reason}.` : undefined);
  }

  /** The session went away: `gone` says why when the process exited, undefined when the user detached. */
  forget(pid: number, label: string, gone?: string): void {
    if (this.session?.pid !== pid) return;
    this.session = undefined;
    if (this.timer) { clearInterval(this.timer); this.timer = undefined; }
    void vscode.commands.executeCommand('setContext', 'workerLens.allocations.tracking', false);
    this.decorate(); // the editor notes belong to the tracking that ended
    this.updateMessage(gone ? `Tracking ended: ${label} is gone (${gone}).` : `Tracking ended: detached from ${label}.`);
  }

  /** A worker was attached: an old "tracking ended" note no longer applies. */
  attached(): void {
    if (!this.session) this.updateMessage(undefined);
  }

  setBaseline(): void { this.baseline = new Map(this.current); this.changed.fire(undefined); this.decorate(); }
  setSort(sort: AllocationSort): void { this.sort = sort; this.changed.fire(undefined); }

  async refresh(): Promise<void> {
    const s = this.session;
    if (!s) return;
    try {
      const { profile } = await s.client.heapProfiler.getSamplingProfile({ timeoutMs: 15000 });
      if (this.session !== s) return;
      this.current = allocationSites(profile);
      if (!this.baseline) this.baseline = new Map(this.current);
      this.changed.fire(undefined);
      this.decorate();
      this.updateMessage();
    } catch (e) {
      this.log.warn(`allocations of ${s.label}: ${(e as Error).message}`);
      this.updateMessage(`Last refresh failed: ${(e as Error).message}`);
    }
  }

  rows(): AllocationSite[] { return compareAllocations(this.current, this.baseline, this.sort); }

  private updateMessage(extra?: string): void {
    if (!this.view) return;
    if (!this.session) { this.view.message = extra; return; }
    const mins = Math.floor((Date.now() - this.startedAt) / 60000);
    this.view.message = `Tracking ${this.session.label} for ${mins} min · sorted by ${this.sort === 'growth' ? 'growth since baseline' : 'live size'} · ` +
      `costs the worker time (tracemalloc); stops when this view closes${extra ? ' · ' + extra : ''}`;
  }

  /** Puts "▲ 2.1 MB since baseline · 12,000 blocks" after the top growing lines in open editors. */
  private decorate(): void {
    const top = compareAllocations(this.current, this.baseline, 'growth', 20).filter(s => s.bytesDelta > 0);
    for (const editor of vscode.window.visibleTextEditors) {
      const path = editor.document.uri.fsPath;
      const here = this.session ? top.filter(s => s.url === path) : [];
      editor.setDecorations(this.decoration, here.map(s => ({
        range: new vscode.Range(s.lineNumber, Number.MAX_SAFE_INTEGER, s.lineNumber, Number.MAX_SAFE_INTEGER),
        renderOptions: { after: { contentText: `▲ ${formatBytes(s.bytesDelta)} since baseline · ${formatCount(s.blocks)} blocks` } },
        hoverMessage: new vscode.MarkdownString(`**Worker Lens** — allocations still alive from this line in ${this.session?.label}: ${formatBytes(s.bytes)} in ${formatCount(s.blocks)} blocks; ${formatBytes(s.bytesDelta)} more than at the baseline.`),
      })));
    }
  }

  getTreeItem(s: AllocationSite): vscode.TreeItem {
    const file = s.url.split('/').pop() ?? s.url;
    const item = new vscode.TreeItem(`${file}:${s.lineNumber + 1}`, vscode.TreeItemCollapsibleState.None);
    item.id = `alloc-${s.key}`;
    item.description = `${s.bytesDelta > 0 ? '▲ ' : ''}${formatBytes(s.bytesDelta)} · ${formatBytes(s.bytes)} live · ${formatCount(s.blocks)} blocks · ${s.functionName}`;
    item.tooltip = `${s.url}:${s.lineNumber + 1} in ${s.functionName}\n${formatBytes(s.bytes)} live in ${formatCount(s.blocks)} blocks, ${formatBytes(s.bytesDelta)} since the baseline`;
    item.iconPath = new vscode.ThemeIcon(s.bytesDelta > 0 ? 'arrow-up' : 'symbol-number');
    item.accessibilityInformation = { label: `${file} line ${s.lineNumber + 1}: ${formatBytes(s.bytesDelta)} since baseline, ${formatBytes(s.bytes)} live, ${formatCount(s.blocks)} blocks` };
    item.command = { command: 'vscode.open', title: 'Open', arguments: [vscode.Uri.file(s.url), { selection: new vscode.Range(s.lineNumber, 0, s.lineNumber, 0) }] };
    return item;
  }

  getChildren(s?: AllocationSite): AllocationSite[] { return s || !this.session && this.current.size === 0 ? [] : this.rows(); }

  dispose(): void {
    void this.stop('Worker Lens is shutting down');
    this.decoration.dispose();
    this.changed.dispose();
    for (const d of this.subs) d.dispose();
  }
}
