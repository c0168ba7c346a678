// The Tasks view: per Celery task name in the selected worker — runs, RSS change per measured run,
// how those changes spread (the agent's histogram), and on what they rest ("RSS measured on N of M
// runs": the agent samples RSS to stay under 0.1 % of the worker's time). Exact for prefork/solo
// children; "mixed" for thread/greenlet pools, where concurrent tasks share the process. A first row
// says which part of the process's memory grew meanwhile (memory breakdown, process-wide: the agent
// cannot split a part by task), read every 5th refresh.
import * as vscode from 'vscode';
import type { GetTaskStatsResult, MemoryBreakdown, TaskStat } from '../protocol/agent';
import type { Session } from './sessions';
import { formatBytes, formatCount } from '../common/format';
import { histogramRows, taskMemory } from '../model/taskMemory';
import { largestGrowth, memoryChange, partLines, signedBytes } from '../model/memoryGrowth';

const REFRESH_MS = 2000;
const BREAKDOWN_EVERY = 5;

type TaskNode =
  | { kind: 'task'; t: TaskStat }
  | { kind: 'line'; id: string; label: string; description?: string; tooltip?: string; icon: string; children?: TaskNode[] };

export class TasksView implements vscode.TreeDataProvider<TaskNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TaskNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private session: Session | undefined;
  private stats: GetTaskStatsResult | null = null;
  private timer: NodeJS.Timeout | undefined;
  private view: vscode.TreeView<TaskNode> | undefined;
  /** The session whose refresh is in flight: another worker's does not hold up the new one's. */
  private busy: Session | undefined;
  private refreshes = 0;
  private firstBreakdown: MemoryBreakdown | null = null;
  private lastBreakdown: MemoryBreakdown | null = null;
  private breakdownError: string | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  attachView(view: vscode.TreeView<TaskNode>): vscode.Disposable {
    this.view = view;
    return view.onDidChangeVisibility(() => this.reschedule());
  }

  setSource(session: Session | undefined): void {
    this.session = session?.kind === 'python' ? session : undefined;
    this.stats = null;
    // no header left from the previous worker: with nothing attached the welcome says so
    if (this.view) this.view.message = session && !this.session ? `${session.label}: a Node process has no Celery tasks` : this.session ? `${this.session.label}: reading task stats…` : undefined;
    this.refreshes = 0;
    this.firstBreakdown = this.lastBreakdown = null;
    this.breakdownError = undefined;
    this.changed.fire(undefined);
    this.reschedule();
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const s = this.session;
    if (!s || this.busy === s) return;
    this.busy = s;
    try {
      const r = await s.client.python.getTaskStats({ timeoutMs: 5000 });
      if (this.session !== s) return;
      if (this.refreshes++ % BREAKDOWN_EVERY === 0 && r.tasks.length) await this.readBreakdown(s);
      if (this.session !== s) return; // switched while the breakdown was read: neither its rows nor its header
      this.stats = r;
      if (this.view) {
        this.view.message = r.tasks.length
          ? `${s.label} · ${r.pool ?? 'no pool'}${r.exact ? '' : ' · memory Δ mixed: tasks run concurrently in this process'} · RSS change per run = RSS after − before, on a sample of runs`
          : s.role === 'main' && r.pool === 'prefork'
            ? `${s.label} is the main process: tasks run in its pool children (see Pool Memory, or attach a child)`
            : `${s.label}: no task has run here yet`;
      }
      this.changed.fire(undefined);
    } catch (e) {
      this.log.warn(`task stats of ${s.label}: ${(e as Error).message}`);
    } finally {
      if (this.busy === s) this.busy = undefined;
    }
  }

  private async readBreakdown(s: Session): Promise<void> {
    if (!s.getMemoryBreakdown) return;
    try {
      const ac = new AbortController();
      const b = await s.getMemoryBreakdown(ac.signal, false);
      if (this.session !== s) return;
      this.firstBreakdown ??= b;
      this.lastBreakdown = b;
      this.breakdownError = undefined;
    } catch (e) {
      this.breakdownError = (e as Error).message;
    }
  }

  private reschedule(): void {
    if (this.timer) { clearInterval(this.timer); this.timer = undefined; }
    if (this.session && this.view?.visible) this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
  }

  /** "While these tasks ran: RSS +12 MB, most of it native allocations (+10 MB, estimated)". */
  private processRow(): TaskNode | null {
    if (this.breakdownError && !this.lastBreakdown) return { kind: 'line', id: 'tasks-proc', label: 'Process memory: breakdown unavailable', description: this.breakdownError, icon: 'warning' };
    const a = this.firstBreakdown, b = this.lastBreakdown;
    if (!a || !b) return null;
    const c = memoryChange([a, b]);
    const top = largestGrowth(c);
    const since = new Date(a.timestamp * 1000).toLocaleTimeString();
    if (!c || a === b) {
      return { kind: 'line', id: 'tasks-proc', label: `Process memory: RSS ${b.rssBytes !== null ? formatBytes(b.rssBytes) : 'n/a'}`, description: 'which part grows shows from the next breakdown (every 10 s)', icon: 'graph' };
    }
    // short label (it must fit the default sidebar width); the time and the part go to the description
    const label = `Process RSS ${c.rssDelta !== null ? signedBytes(c.rssDelta) : 'n/a'}`;
    const description = `since ${since} · ${top ? `grew most: ${top.label} ${signedBytes(top.deltaBytes)} (${top.how})` : 'no part grew by 1 MB'}`;
    const children: TaskNode[] = partLines(c, 6).map((t, i) => ({ kind: 'line', id: `tasks-proc-${i}`, label: t, icon: t.startsWith('n/a') ? 'circle-slash' : 'symbol-number' }));
    return {
      kind: 'line', id: 'tasks-proc', label, description, icon: top ? 'arrow-up' : 'check', children,
      tooltip: `${label}\n${description}\n\nFrom the agent's memory breakdown (Python.getMemoryBreakdown) at ${since} and ${new Date(b.timestamp * 1000).toLocaleTimeString()}: ` +
        'process-wide, over the same period as the runs below. The agent does not split a part by task; the per-task figures below are RSS only.',
    };
  }

  getTreeItem(n: TaskNode): vscode.TreeItem {
    if (n.kind === 'line') {
      const item = new vscode.TreeItem(n.label, n.children?.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
      item.id = n.id;
      item.description = n.description;
      item.tooltip = n.tooltip ?? `${n.label}${n.description ? `\n${n.description}` : ''}`;
      item.iconPath = new vscode.ThemeIcon(n.icon);
      item.accessibilityInformation = { label: `${n.label}${n.description ? `: ${n.description}` : ''}` };
      return item;
    }
    const t = n.t;
    const m = taskMemory(t);
    const perRun = m.perRunBytes ?? 0;
    const mixed = this.stats && !this.stats.exact ? ' (mixed)' : '';
    const hist = histogramRows(this.stats?.memDeltaBucketBounds, t.memDeltaHistogram);
    const item = new vscode.TreeItem(t.name, hist.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = `task-${t.name}`;
    item.description = m.perRunBytes === null
      ? `${formatCount(t.runs)} runs · RSS not measured yet`
      : `${formatCount(t.runs)} runs · ${signedBytes(Math.round(perRun))}/run${mixed} · ${m.basis}`;
    item.iconPath = new vscode.ThemeIcon(perRun > 1024 ? 'arrow-up' : 'symbol-event');
    item.tooltip = `${t.name}: ${formatCount(t.runs)} runs, ${formatCount(t.failures)} failed, ${(t.totalSeconds / Math.max(1, t.runs) * 1000).toFixed(1)} ms per run\n` +
      `RSS change (after − before the run): ${signedBytes(t.memDeltaBytes)} over ${m.measured < t.runs ? `the ${formatCount(m.measured)} measured runs of ${formatCount(t.runs)} (RSS is read on a sample of short runs, to keep the cost under 0.1 %)` : 'all runs'}, ${signedBytes(t.lastMemDeltaBytes)} in the last measured one` +
      `${hist.length ? `\n${hist.map(h => `${h.label}: ${formatCount(h.runs)}`).join('\n')}` : ''}${mixed ? '\nMixed: concurrent tasks in this process share these deltas.' : ''}`;
    item.accessibilityInformation = { label: `${t.name}: ${item.description}` };
    return item;
  }

  getChildren(n?: TaskNode): TaskNode[] {
    if (n?.kind === 'line') return n.children ?? [];
    if (n?.kind === 'task') {
      const t = n.t;
      return histogramRows(this.stats?.memDeltaBucketBounds, t.memDeltaHistogram).map((h, i) => ({
        kind: 'line', id: `task-${t.name}-h${i}`, label: `${h.label} per run`, description: `${formatCount(h.runs)} run${h.runs === 1 ? '' : 's'} · ${h.shareText} of measured`,
        icon: 'symbol-number',
        tooltip: `${formatCount(h.runs)} measured run${h.runs === 1 ? '' : 's'} of ${t.name} changed RSS by ${h.label} (lower bound exclusive, upper inclusive). RSS moves in whole pages, so most short runs change it by exactly 0 B, and a few by the page runs the allocator took.`,
      }));
    }
    if (!this.stats) return [];
    const tasks: TaskNode[] = [...this.stats.tasks].sort((a, b) => b.memDeltaBytes - a.memDeltaBytes || b.runs - a.runs).map(t => ({ kind: 'task', t }));
    const proc = this.processRow();
    return proc ? [proc, ...tasks] : tasks;
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.changed.dispose();
  }
}
