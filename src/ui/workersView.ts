// The Workers tree: Celery mains with pool children beneath, agent-bearing Python processes and
// Node workers (with an inspector, or one Attach can open). Rows come from model/workerList (pure) over a /proc scan + discovery files.
import * as vscode from 'vscode';
import type { DiscoveryFile } from '../protocol/agent';
import { buildWorkerTree, flattenWorkers, WorkerRow, WorkerState } from '../model/workerList';
import { scanProcesses } from '../cdp/procScan';
import { formatBytes } from '../common/format';
import { RssHistory, fastestGrowing, isMaterial } from '../model/rssTrend';
import type { ReportEntry } from '../model/reports';
import { ExitedGroupNode, exitedGroups, isReportNode, ReportNode, reportTreeItem } from './reportNodes';

/** A row of the tree: a live process, or an exited pool child's report (reportNodes.ts). */
export type WorkersNode = WorkerRow | ReportNode;

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
  /** Reports of processes that exited (flight recorder); optional so tests can leave it out. */
  readExitedReports?(): Promise<ReportEntry[]>;
}

export class WorkersView implements vscode.TreeDataProvider<WorkersNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<WorkersNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private rows: WorkerRow[] = [];
  /** RSS per pid over the last minutes: tells look-alike pool children apart by their growth. */
  private readonly history = new RssHistory();
  private growingChild = new Set<number>();
  private exited = new Map<number, ExitedGroupNode>();
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
    try {
      const reports = this.source.readExitedReports ? await this.source.readExitedReports() : [];
      this.exited = exitedGroups(reports, this.rows.filter(r => r.role === 'main').map(r => r.pid));
    } catch (e) {
      this.log.warn(`Workers: reading flight-recorder reports failed: ${(e as Error).message}`);
      this.exited = new Map();
    }
    void vscode.commands.executeCommand('setContext', 'workerLens.hasWorkers', this.rows.length > 0);
    this.changed.fire(undefined);
    this.onRowsChanged.fire(flat);
  }

  all(): WorkerRow[] { return flattenWorkers(this.rows); }

  find(pid: number): WorkerRow | undefined { return this.all().find(r => r.pid === pid); }

  /** Polls while the view is visible so a replaced pool child shows up without a click. */
  watch(view: vscode.TreeView<WorkersNode>, periodMs: number): vscode.Disposable {
    const sync = () => {
      if (view.visible && !this.timer) this.timer = setInterval(() => void this.refresh(), periodMs);
      if (!view.visible && this.timer) { clearInterval(this.timer); this.timer = undefined; }
    };
    sync();
    return view.onDidChangeVisibility(sync);
  }

  getTreeItem(n: WorkersNode): vscode.TreeItem {
    if (isReportNode(n)) return reportTreeItem(n);
    const r = n;
    const title = r.kind === 'node' ? `node ${r.roleLabel}` : r.role === 'main' ? (r.workerName ?? 'celery worker') : r.roleLabel;
    const item = new vscode.TreeItem(`${title}`, r.children.length || this.exited.has(r.pid) ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    const pool = r.pool && r.role === 'main' ? ` · ${r.pool}` : ''; // children share their main's pool
    const role = r.role === 'main' && r.kind === 'celery' ? 'main' : '';
    const trend = this.history.trend(r.pid);
    const grows = isMaterial(trend, r.rssBytes) ? ` ▲${formatBytes(trend!.growth)}/${Math.max(1, Math.round(trend!.spanMs / 60_000))}m` : '';
    const fastest = this.growingChild.has(r.pid);
    // What tells rows apart first (pid, memory, growth); the state is also the icon, role and pool are
    // also in the tooltip: they may be cut at the default sidebar width.
    // A pool child's name is unique in its pool: its memory comes before its pid.
    item.description = r.kind === 'celery' && r.role !== 'main'
      ? `${formatBytes(r.rssBytes)}${grows} · ${r.pid} · ${STATE_TEXT[r.state]}`
      : `${r.pid} · ${formatBytes(r.rssBytes)}${grows} · ${STATE_TEXT[r.state]}${role ? ' · ' + role : ''}${pool}`;
    // The id changes once pool children appear, so the main row opens expanded then.
    item.id = `worker-${r.pid}${r.children.length ? '-pool' : ''}`;
    // The child whose memory grows fastest stands out: in prefork that is where the leak runs.
    item.iconPath = fastest ? new vscode.ThemeIcon('arrow-circle-up', new vscode.ThemeColor('charts.red')) : new vscode.ThemeIcon(STATE_ICON[r.state]);
    item.contextValue = `worker.${r.kind}.${r.state}${r.children.length ? '.main' : ''}`;
    item.tooltip = new vscode.MarkdownString(
      `**${title}** — pid ${r.pid} (parent ${r.ppid})${r.kind === 'celery' ? ` · ${r.role === 'main' ? 'main process' : 'pool child'}${r.pool ? ` · pool ${r.pool}` : ''}` : ''}\n\n` +
      `${fastest ? '**Grows fastest of its pool: attach this one.**\n\n' : ''}state: ${STATE_TEXT[r.state]}${r.discovery ? ` · agent on 127.0.0.1:${r.discovery.port}` : ''}\n\n` +
      (r.note ? `listed because: ${r.note}${r.state === 'activatable' ? ' · Attach opens its inspector with SIGUSR1, as VS Code\'s debugger does' : ''}\n\n` : '') +
      `memory (RSS): ${formatBytes(r.rssBytes)}${trend ? `, ${trend.growth >= 0 ? '+' : '−'}${formatBytes(Math.abs(trend.growth))} over the last ${Math.max(1, Math.round(trend.spanMs / 1000))} s (seen by this view)` : ''}\n\n\`${r.commandLine.slice(0, 300)}\``);
    item.accessibilityInformation = { label: `${title}, pid ${r.pid}, ${STATE_TEXT[r.state]}${fastest ? ', grows fastest' : ''}` };
    if (r.state === 'attached') item.command = { command: 'workerLens.selectWorker', title: 'Show in Heap View', arguments: [r] };
    return item;
  }

  getChildren(n?: WorkersNode): WorkersNode[] {
    if (!n) return this.rows;
    if (isReportNode(n)) return n.nodeKind === 'exitedGroup' ? n.children : [];
    const g = this.exited.get(n.pid);
    return g ? [...n.children, g] : n.children;
  }

  getParent(n: WorkersNode): WorkersNode | undefined {
    if (isReportNode(n)) {
      const g = this.exited.get(n.mainPid);
      return n.nodeKind === 'exitedChild' ? g : this.rows.find(m => m.pid === n.mainPid);
    }
    return this.rows.find(m => m.children.includes(n));
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.changed.dispose();
    this.onRowsChanged.dispose();
  }
}
