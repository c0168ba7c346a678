// "Show retainers" for a type of the Heap view: snapshot the worker (streamed to a temp file as it
// arrives, so "Save snapshot" can keep it), find the clustered shortest retainer paths of the
// type's instances and draw them in the Retainers panel. Also the graph for opened snapshot files.
import * as vscode from 'vscode';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Session } from './sessions';
import { HeapAnalysis } from '../model/leakReport';
import { buildRetainerGraph, findDefinitionLine, RootDefinition } from '../model/retainerGraph';
import type { RetainerGraph, SourceLocation } from '../protocol/webview';
import { RetainersPanel } from './panels/retainersPanel';
import { formatCount } from '../common/format';

export async function showRetainers(extensionUri: vscode.Uri, s: Session, type: string, log: vscode.LogOutputChannel): Promise<RetainerGraph | undefined> {
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'workerlens-')), `worker-${s.pid}.heapsnapshot`);
  const panel = RetainersPanel.show(extensionUri, undefined, callbacks(log, () => tmp));
  panel.setStatus(`Taking a heap snapshot of ${s.label}…`, { busy: true });
  let analysis: HeapAnalysis;
  try {
    const out = fs.createWriteStream(tmp);
    analysis = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, cancellable: true, title: `Retainers of ${type} in ${s.label}` }, async (progress, token) => {
      const ac = new AbortController();
      token.onCancellationRequested(() => ac.abort());
      progress.report({ message: 'taking a heap snapshot…' });
      const snap = await s.snapshot(ac.signal, undefined, chunk => { out.write(chunk); });
      await new Promise<void>(resolve => out.end(() => resolve()));
      progress.report({ message: `analysing ${formatCount(snap.nodeCount)} objects…` });
      return new HeapAnalysis(snap);
    });
  } catch (e) {
    fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
    if (/cancel/i.test((e as Error).message)) { panel.setStatus('Cancelled.'); return undefined; }
    log.error(`retainers of ${type} in ${s.label}: ${(e as Error).message}`);
    panel.setStatus(`Could not take the snapshot: ${(e as Error).message}`, { error: true });
    void vscode.window.showErrorMessage(`Could not find retainers of ${type} in ${s.label}: ${(e as Error).message}. The worker keeps running.`);
    return undefined;
  }
  const { graph, definitions } = buildRetainerGraph(analysis, type, { source: `${s.label} · ${new Date().toLocaleTimeString()}` });
  attachSources(graph, definitions);
  const shown = RetainersPanel.show(extensionUri, graph, callbacks(log, () => tmp));
  shown.setStatus(graph.paths.length
    ? `${formatCount(graph.paths.reduce((n, p) => n + p.instanceCount, 0))} of ${formatCount(graph.instanceCount)} instances on the paths shown · snapshot of ${formatCount(analysis.snapshot.nodeCount)} objects`
    : `No instance of ${type} is reachable from a root (garbage not yet collected, or none left).`);
  log.info(`retainers of ${type} in ${s.label}: ${graph.paths.length} paths, ${graph.nodes.length} nodes`);
  return graph;
}

/** Resolves module-global roots to the line that defines them (reads the module's file). */
export function attachSources(graph: RetainerGraph, definitions: RootDefinition[]): void {
  for (const d of definitions) {
    const node = graph.nodes.find(n => n.id === d.nodeId);
    if (!node) continue;
    try {
      const line = findDefinitionLine(fs.readFileSync(d.file, 'utf8'), d.name);
      node.source = { file: d.file, line: line ?? 1 };
    } catch { /* file not readable from here (another machine or container): no link */ }
  }
}

export function callbacks(log: vscode.LogOutputChannel, snapshotFile: () => string | undefined) {
  return {
    onOpenSource: async (loc: SourceLocation) => {
      const line = Math.max(0, loc.line - 1);
      await vscode.window.showTextDocument(vscode.Uri.file(loc.file), { selection: new vscode.Range(line, (loc.column ?? 1) - 1, line, (loc.column ?? 1) - 1), preview: false, viewColumn: vscode.ViewColumn.One });
    },
    onSaveSnapshot: async () => {
      const src = snapshotFile();
      if (!src || !fs.existsSync(src)) { void vscode.window.showWarningMessage('There is no snapshot to save for this graph.'); return; }
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? os.homedir();
      const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(path.join(folder, path.basename(src))), filters: { 'Heap snapshot': ['heapsnapshot'] } });
      if (!target || target.fsPath === src) return;
      fs.copyFileSync(src, target.fsPath);
      void vscode.window.showInformationMessage(`Saved ${path.basename(target.fsPath)}: Chrome DevTools opens it too (Memory → Load).`);
    },
    onError: (m: string) => log.warn(`Retainers panel: ${m}`),
  };
}
