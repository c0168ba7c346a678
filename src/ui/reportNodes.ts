// Workers view rows for pool children that exited (recycled, killed) and left a flight-recorder
// report: a group under their live main process, one row per child with the reason; a click
// opens the last report (src/ui/reportDocument.ts).
import * as vscode from 'vscode';
import { exitText, processTitle, ReportEntry, reportStatus, shortExit } from '../model/reports';
import { formatBytes, formatClock } from '../common/format';

export const EXITED_PER_MAIN = 10;

export interface ExitedGroupNode { nodeKind: 'exitedGroup'; mainPid: number; children: ExitedChildNode[] }
export interface ExitedChildNode { nodeKind: 'exitedChild'; mainPid: number; entry: ReportEntry }
export type ReportNode = ExitedGroupNode | ExitedChildNode;

export function isReportNode(n: unknown): n is ReportNode {
  return !!n && typeof n === 'object' && 'nodeKind' in n;
}

/** Groups by parent pid the reports of children that are no longer running, newest first. */
export function exitedGroups(entries: ReportEntry[], mainPids: Iterable<number>): Map<number, ExitedGroupNode> {
  const mains = new Set(mainPids);
  const groups = new Map<number, ExitedGroupNode>();
  const sorted = [...entries].sort((a, b) => (b.report.exit?.at ?? b.report.updatedAt) - (a.report.exit?.at ?? a.report.updatedAt));
  for (const e of sorted) {
    if (e.report.role !== 'child' || !mains.has(e.report.ppid) || reportStatus(e) === 'running') continue;
    let g = groups.get(e.report.ppid);
    if (!g) groups.set(e.report.ppid, g = { nodeKind: 'exitedGroup', mainPid: e.report.ppid, children: [] });
    if (g.children.length < EXITED_PER_MAIN) g.children.push({ nodeKind: 'exitedChild', mainPid: e.report.ppid, entry: e });
  }
  return groups;
}

export function reportTreeItem(n: ReportNode): vscode.TreeItem {
  if (n.nodeKind === 'exitedGroup') {
    const item = new vscode.TreeItem(`Exited children (${n.children.length}${n.children.length >= EXITED_PER_MAIN ? '+' : ''})`,
      vscode.TreeItemCollapsibleState.Expanded);
    item.id = `exited-${n.mainPid}`;
    item.iconPath = new vscode.ThemeIcon('history');
    item.description = 'last reports';
    item.tooltip = 'Pool children of this worker that were recycled or killed. Click one to open its last flight-recorder report.';
    item.contextValue = 'worker.exitedGroup';
    item.accessibilityInformation = { label: `Exited children, ${n.children.length} last reports` };
    return item;
  }
  const r = n.entry.report;
  const status = reportStatus(n.entry);
  const item = new vscode.TreeItem(r.processName ?? `pid ${r.pid}`, vscode.TreeItemCollapsibleState.None);
  item.id = `exited-${n.mainPid}-${r.pid}-${r.startedAt}`;
  const when = r.exit ? formatClock(r.exit.at * 1000) : formatClock(r.updatedAt * 1000);
  item.description = `${shortExit(n.entry)} · ${when} · ${r.pid}`;
  item.iconPath = new vscode.ThemeIcon(status === 'killed' ? 'error' : status === 'gone' ? 'question' : 'history');
  item.contextValue = `worker.exited.${status}`;
  item.tooltip = new vscode.MarkdownString(
    `**${processTitle(r)}** — pid ${r.pid} (parent ${r.ppid})\n\n${exitText(n.entry)}\n\n` +
    `last refresh ${formatClock(r.updatedAt * 1000)}: RSS ${formatBytes(r.rssBytes)}, ${r.tasks.completed} tasks\n\nClick to open its last report.`);
  item.accessibilityInformation = { label: `${processTitle(r)}, pid ${r.pid}, ${exitText(n.entry)}` };
  item.command = { command: 'workerLens.openReport', title: 'Open Last Report', arguments: [n.entry.file] };
  return item;
}
