// "Show retainers" for a type of the Heap view: snapshot the worker, streaming it both to a temp
// file (so "Save snapshot" can keep it) and to a heap worker thread that parses and analyses it
// off the extension host, then draw the type's clustered shortest retainer paths in the Retainers
// panel. The thread ends as soon as the graph is built; the temp file lives as long as the panel
// shows that graph (deleted when the panel closes or shows another snapshot's graph).
import * as vscode from 'vscode';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Session } from './sessions';
import type { HeapWorkers } from './heapWorkers';
import { findDefinitionLine } from '../model/retainerGraph';
import type { RootDefinitionInfo, HeapWorkerPhase } from '../protocol/heapWorker';
import type { RetainerGraph, SourceLocation } from '../protocol/webview';
import { RetainersPanel } from './panels/retainersPanel';
import { formatCount } from '../common/format';
import { RetainedSizes, retainedSizesOf } from '../model/heapTable';

/** Temp folder of the snapshot the Retainers panel shows now (one at a time). */
let heldSnapshotDir: string | null = null;
const watchedPanels = new WeakSet<RetainersPanel>();

function holdSnapshot(panel: RetainersPanel, dir: string | null): void {
  if (heldSnapshotDir && heldSnapshotDir !== dir) fs.rmSync(heldSnapshotDir, { recursive: true, force: true });
  heldSnapshotDir = dir;
  if (!watchedPanels.has(panel)) {
    watchedPanels.add(panel);
    panel.onDidDispose(() => holdSnapshot(panel, null));
  }
}

/** Deletes the panel's temp snapshot (deactivation). */
export function releaseRetainerSnapshots(): void {
  if (heldSnapshotDir) fs.rmSync(heldSnapshotDir, { recursive: true, force: true });
  heldSnapshotDir = null;
}

export async function showRetainers(extensionUri: vscode.Uri, workers: HeapWorkers, s: Session, type: string, log: vscode.LogOutputChannel, onRetained?: (r: RetainedSizes) => void): Promise<RetainerGraph | undefined> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workerlens-'));
  const tmp = path.join(dir, `worker-${s.pid}.heapsnapshot`);
  const panel = RetainersPanel.show(extensionUri, undefined, callbacks(log, () => tmp));
  holdSnapshot(panel, dir);
  panel.setStatus(`Taking a heap snapshot of ${s.label}…`, { busy: true });
  const worker = workers.start(`retainers of ${type} in ${s.label}`);
  const at = Date.now();
  try {
    const { graph, definitions, nodeCount } = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, cancellable: true, title: `Retainers of ${type} in ${s.label}` }, async (progress, token) => {
      const ac = new AbortController();
      token.onCancellationRequested(() => ac.abort());
      progress.report({ message: 'taking a heap snapshot…' });
      const out = fs.createWriteStream(tmp);
      const parse = worker.parseStream({ signal: ac.signal });
      try {
        await s.streamSnapshot(ac.signal, chunk => { out.write(chunk); parse.write(chunk); });
      } finally {
        parse.end();
        await new Promise<void>(resolve => out.end(() => resolve()));
      }
      const parsed = await parse.result;
      progress.report({ message: `analysing ${formatCount(parsed.nodeCount)} objects…` });
      const r = await worker.request('graph', { type, source: `${s.label} · ${new Date().toLocaleTimeString()}` },
        { signal: ac.signal, onProgress: phase => progress.report({ message: phaseText(phase, parsed.nodeCount) }) });
      // the Heap view's Retained column: the same dominator tree, already built for the graph
      if (onRetained) onRetained(retainedSizesOf((await worker.request('summary', { retained: true }, { signal: ac.signal })).rows, at, `Show Retainers of ${type}`));
      return { ...r, nodeCount: parsed.nodeCount };
    });
    attachSources(graph, definitions);
    if (panel.isDisposed) return graph;
    const shown = RetainersPanel.show(extensionUri, graph, callbacks(log, () => tmp));
    shown.setStatus(graph.paths.length
      ? `${formatCount(graph.paths.reduce((n, p) => n + p.instanceCount, 0))} of ${formatCount(graph.instanceCount)} instances on the paths shown · snapshot of ${formatCount(nodeCount)} objects`
      : `No instance of ${type} is reachable from a root (garbage not yet collected, or none left).`);
    log.info(`retainers of ${type} in ${s.label}: ${graph.paths.length} paths, ${graph.nodes.length} nodes`);
    return graph;
  } catch (e) {
    if (heldSnapshotDir === dir) holdSnapshot(panel, null); else fs.rmSync(dir, { recursive: true, force: true });
    if (/cancel/i.test((e as Error).message)) { panel.setStatus('Cancelled.'); return undefined; }
    log.error(`retainers of ${type} in ${s.label}: ${(e as Error).message}`);
    panel.setStatus(`Could not take the snapshot: ${(e as Error).message}`, { error: true });
    void vscode.window.showErrorMessage(`Could not find retainers of ${type} in ${s.label}: ${(e as Error).message}. The worker keeps running.`);
    return undefined;
  } finally {
    await worker.dispose(); // the graph is all the panel needs: the analysis goes now
  }
}

export function phaseText(phase: HeapWorkerPhase, nodeCount: number): string {
  const n = formatCount(nodeCount);
  switch (phase) {
    case 'dominators': return `dominator tree of ${n} objects…`;
    case 'paths': return `shortest retainer paths of ${n} objects…`;
    default: return `analysing ${n} objects…`;
  }
}

/** Resolves module-global roots to the line that defines them (reads the module's file). */
export function attachSources(graph: RetainerGraph, definitions: RootDefinitionInfo[]): void {
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
