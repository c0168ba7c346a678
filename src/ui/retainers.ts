// "Show retainers" for a type of the Heap view: snapshot the worker, find the shortest retainer
// paths of that type's instances, cluster them, and show them.
import * as vscode from 'vscode';
import type { Session } from './sessions';
import type { HeapRow } from '../model/heapTable';
import { HeapAnalysis } from '../model/leakReport';
import { formatBytes, formatCount } from './format';

export async function showRetainers(_context: vscode.ExtensionContext, s: Session, row: HeapRow, log: vscode.LogOutputChannel): Promise<void> {
  let analysis: HeapAnalysis;
  try {
    analysis = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, cancellable: true, title: `Retainers of ${row.type} in ${s.label}` }, async (progress, token) => {
      const ac = new AbortController();
      token.onCancellationRequested(() => ac.abort());
      progress.report({ message: 'taking a heap snapshot…' });
      const snap = await s.snapshot(ac.signal);
      progress.report({ message: `analysing ${formatCount(snap.nodeCount)} objects…` });
      return new HeapAnalysis(snap);
    });
  } catch (e) {
    if (/cancel/i.test((e as Error).message)) return;
    log.error(`retainers of ${row.type} in ${s.label}: ${(e as Error).message}`);
    void vscode.window.showErrorMessage(`Could not find retainers of ${row.type} in ${s.label}: ${(e as Error).message}`);
    return;
  }
  const r = analysis.retainerClusters(row.type, { maxClusters: 5 });
  const summary = analysis.classSummary(row.type);
  const lines = [
    `# Retainers of ${row.type} in ${s.label}`, '',
    `${formatCount(summary?.count ?? 0)} instances · self ${formatBytes(summary?.selfSize ?? 0)} · retained ${formatBytes(summary?.retainedSize ?? 0)}`, '',
    ...r.clusters.flatMap((c, i) => [`## Path ${i + 1}: ${formatCount(c.count)} instance${c.count === 1 ? '' : 's'} share this path`, '', '```', c.text, '```', '']),
  ];
  if (r.others) lines.push(`${formatCount(r.others)} more instances are kept alive along other paths.`, '');
  if (r.unreachable) lines.push(`${formatCount(r.unreachable)} instances are unreachable (garbage not yet collected).`, '');
  if (!r.clusters.length) lines.push('No instance of this type is reachable from a root.');
  const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: lines.join('\n') });
  await vscode.window.showTextDocument(doc, { preview: true });
}
