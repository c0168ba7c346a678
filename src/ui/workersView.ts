// The Workers tree: Celery mains with pool children beneath, agent-bearing Python processes and
// Node workers (with an inspector, or one Attach can open). Rows come from model/workerList (pure) over a /proc scan + discovery files.
import * as vscode from 'vscode';
import type { DiscoveryFile } from '../protocol/agent';
import { buildWorkerTree, flattenWorkers, WorkerRow, WorkerState } from '../model/workerList';
import { scanProcesses } from '../cdp/procScan';
import { formatBytes } from '../common/format';
import { RssHistory, fastestGrowing, isMaterial } from '../model/rssTrend';

const STATE_TEXT: Record<WorkerState, string> = {
  'attached': 'attached',
  'agent': 'agent running',
  'injectable': 'injectable',
  'not-permitted': 'not permitted',
  'inspector': 'inspector',
  'activatable': 'inspector off, can open',
};

const STATE_ICON: Record<WorkerState, string> = {
  'attached': 'debug-alt',
  'agent': 'pass',
  'injectable': 'plug',
  'not-permitted': 'lock',
  'inspector': 'pass',
  'activatable': 'plug',
};

export interface WorkersSource {
  readDiscovery(): Promise<DiscoveryFile[]>;
  attachedPids(): ReadonlySet<number>;
}

export class WorkersView implements vscode.TreeDataProvider<WorkerRow>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<WorkerRow | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private rows: WorkerRow[] = [];
  /** RSS per pid over the last minutes: tells look-alike pool children apart by their growth. */
  private readonly history = new RssHistory();
  private growingChild = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly onRowsChanged = new vscode.EventEmitter<WorkerRow[]>();
  /** Fires after every refresh with the flat list (used to follow replaced children). */
  readonly onDidRefresh = this.onRowsChanged.event;

  constructor(private readonly source: WorkersSource, private readonly log: vscode.LogOutputChannel) {}

  /** Rescans /proc and discovery files; cheap enough (~10 ms) to run every few seconds while visible. */
  async refresh(): Promise<void> {
    try {
      const [procs, discovery] = await Promise.all([scanProcesses(), this.source.readDiscovery()]);
      this.rows = buildWorkerTree(procs, discovery, {
        selfUid: process.getuid?.() ?? -1,
        attachedPids: this.source.attachedPids(),
        ignorePids: new Set([process.pid]),
      });
    } catch (e) {
      this.log.error(`Workers: scan failed: ${(e as Error).message}`);
      this.rows = [];
    }
    const flat = flattenWorkers(this.rows);
    this.history.record(Date.now(), flat);
    this.growingChild = new Set(this.rows.map(m => fastestGrowing(m.children, this.history)?.pid).filter((p): p is number => p !== undefined));
    void vscode.commands.executeCommand('setContext', 'workerLens.hasWorkers', this.rows.length > 0);
    this.changed.fire(undefined);
    this.onRowsChanged.fire(flat);
  }

  all(): WorkerRow[] { return flattenWorkers(this.rows); }

  find(pid: number): WorkerRow | undefined { return this.all().find(r => r.pid === pid); }

  /** Polls while the view is visible so a replaced pool child shows up without a click. */
  watch(view: vscode.TreeView<WorkerRow>, periodMs: number): vscode.Disposable {
    const sync = () => {
      if (view.visible && !this.timer) this.timer = setInterval(() => void this.refresh(), periodMs);
      if (!view.visible && this.timer) { clearInterval(this.timer); this.timer = undefined; }
    };
    sync();
    return view.onDidChangeVisibility(sync);
  }

  getTreeItem(r: WorkerRow): vscode.TreeItem {
    const title = r.kind === 'node' ? `node ${r.roleLabel}` : r.role === 'main' ? (r.workerName ?? 'celery worker') : r.roleLabel;
    const item = new vscode.TreeItem(`${title}`, r.children.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    const pool = r.pool && r.role === 'main' ? ` · ${r.pool}` : ''; // children share their main's pool
    const role = r.role === 'main' && r.kind === 'celery' ? 'main' : '';
    const trend = this.history.trend(r.pid);
    const grows = isMaterial(trend, r.rssBytes) ? ` ▲${formatBytes(trend!.growth)}/${Math.max(1, Math.round(trend!.spanMs / 60_000))}m` : '';
    const fastest = this.growingChild.has(r.pid);
    item.description = `${r.pid}${role ? ' · ' + role : ''}${pool} · ${STATE_TEXT[r.state]} · ${formatBytes(r.rssBytes)}${grows}`;
    // The id changes once pool children appear, so the main row opens expanded then.
    item.id = `worker-${r.pid}${r.children.length ? '-pool' : ''}`;
    // The child whose memory grows fastest stands out: in prefork that is where the leak runs.
    item.iconPath = fastest ? new vscode.ThemeIcon('arrow-circle-up', new vscode.ThemeColor('charts.red')) : new vscode.ThemeIcon(STATE_ICON[r.state]);
    item.contextValue = `worker.${r.kind}.${r.state}${r.children.length ? '.main' : ''}`;
    item.tooltip = new vscode.MarkdownString(
      `**${title}** — pid ${r.pid} (parent ${r.ppid})\n\n` +
      `${fastest ? '**Grows fastest of its pool: attach this one.**\n\n' : ''}state: ${STATE_TEXT[r.state]}${r.discovery ? ` · agent on 127.0.0.1:${r.discovery.port}` : ''}\n\n` +
      (r.note ? `listed because: ${r.note}${r.state === 'activatable' ? ' · Attach opens its inspector with SIGUSR1, as VS Code\'s debugger does' : ''}\n\n` : '') +
      `memory (RSS): ${formatBytes(r.rssBytes)}${trend ? `, ${trend.growth >= 0 ? '+' : '−'}${formatBytes(Math.abs(trend.growth))} over the last ${Math.max(1, Math.round(trend.spanMs / 1000))} s (seen by this view)` : ''}\n\n\`${r.commandLine.slice(0, 300)}\``);
    item.accessibilityInformation = { label: `${title}, pid ${r.pid}, ${STATE_TEXT[r.state]}${fastest ? ', grows fastest' : ''}` };
    if (r.state === 'attached') item.command = { command: 'workerLens.selectWorker', title: 'Show in Heap View', arguments: [r] };
    return item;
  }

  getChildren(r?: WorkerRow): WorkerRow[] {
    return r ? r.children : this.rows;
  }

  getParent(r: WorkerRow): WorkerRow | undefined {
    return this.rows.find(m => m.children.includes(r));
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.changed.dispose();
    this.onRowsChanged.dispose();
  }
}
