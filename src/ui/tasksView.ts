// The Tasks view: per Celery task name in the selected worker — runs, memory Δ per run, total —
// from Python.getTaskStats. Exact for prefork/solo children; "mixed" for thread/greenlet pools,
// where concurrent tasks share the process and each delta includes the others' allocations.
import * as vscode from 'vscode';
import type { GetTaskStatsResult, TaskStat } from '../protocol/agent';
import type { Session } from './sessions';
import { formatBytes, formatCount } from '../common/format';

const REFRESH_MS = 2000;

export class TasksView implements vscode.TreeDataProvider<TaskStat>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TaskStat | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private session: Session | undefined;
  private stats: GetTaskStatsResult | null = null;
  private timer: NodeJS.Timeout | undefined;
  private view: vscode.TreeView<TaskStat> | undefined;
  private busy = false;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  attachView(view: vscode.TreeView<TaskStat>): vscode.Disposable {
    this.view = view;
    return view.onDidChangeVisibility(() => this.reschedule());
  }

  setSource(session: Session | undefined): void {
    this.session = session?.kind === 'python' ? session : undefined;
    this.stats = null;
    // no header left from the previous worker: with nothing attached the welcome says so
    if (this.view) this.view.message = session && !this.session ? `${session.label}: a Node process has no Celery tasks` : this.session ? `${this.session.label}: reading task stats…` : undefined;
    this.changed.fire(undefined);
    this.reschedule();
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const s = this.session;
    if (!s || this.busy) return;
    this.busy = true;
    try {
      const r = await s.client.python.getTaskStats({ timeoutMs: 5000 });
      if (this.session !== s) return;
      this.stats = r;
      if (this.view) this.view.message = r.tasks.length ? `${s.label} · ${r.pool ?? 'no pool'}${r.exact ? '' : ' · memory Δ mixed: tasks run concurrently in this process'}` : `${s.label}: no task has run here yet`;
      this.changed.fire(undefined);
    } catch (e) {
      this.log.warn(`task stats of ${s.label}: ${(e as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  private reschedule(): void {
    if (this.timer) { clearInterval(this.timer); this.timer = undefined; }
    if (this.session && this.view?.visible) this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
  }

  getTreeItem(t: TaskStat): vscode.TreeItem {
    const measured = t.memSampledRuns ?? t.runs;
    const perRun = measured ? t.memDeltaBytes / measured : 0;
    const sampled = measured < t.runs ? ` · RSS measured on ${formatCount(measured)}` : ` · ${formatBytes(t.memDeltaBytes)} total`;
    const mixed = this.stats && !this.stats.exact ? ' (mixed)' : '';
    const item = new vscode.TreeItem(t.name, vscode.TreeItemCollapsibleState.None);
    item.id = `task-${t.name}`;
    item.description = `${formatCount(t.runs)} runs · ${perRun >= 0 ? '+' : ''}${formatBytes(Math.round(perRun))}/run${mixed}${sampled}`;
    item.iconPath = new vscode.ThemeIcon(perRun > 1024 ? 'arrow-up' : 'symbol-event');
    item.tooltip = `${t.name}: ${formatCount(t.runs)} runs, ${formatCount(t.failures)} failed, ${(t.totalSeconds / Math.max(1, t.runs) * 1000).toFixed(1)} ms per run\n` +
      `RSS change: ${formatBytes(t.memDeltaBytes)} over ${measured < t.runs ? `the ${formatCount(measured)} measured runs (RSS is read on a sample of short runs, to keep the cost under 0.5 %)` : 'all runs'}, ${formatBytes(t.lastMemDeltaBytes)} in the last measured one${mixed ? '\nMixed: concurrent tasks in this process share these deltas.' : ''}`;
    item.accessibilityInformation = { label: `${t.name}: ${t.runs} runs, ${formatBytes(Math.round(perRun))} per run${mixed}` };
    return item;
  }

  getChildren(t?: TaskStat): TaskStat[] {
    if (t || !this.stats) return [];
    return [...this.stats.tasks].sort((a, b) => b.memDeltaBytes - a.memDeltaBytes || b.runs - a.runs);
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.changed.dispose();
  }
}
