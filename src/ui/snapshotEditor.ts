// Opening a `.heapsnapshot` file (saved by Worker Lens, Chrome DevTools or Node) shows the Retainers
// panel for it. The file is parsed and analysed in a heap worker thread owned by the document
// (src/heapWorker/): the extension host never blocks on it, and closing the editor terminates the
// thread, which frees the snapshot and its analysis. The type holding the most memory among the
// program's own types is drawn first; "Worker Lens: Show Retainers of Type…" switches type.
import * as vscode from 'vscode';
import fs from 'node:fs';
import { isBuiltinType } from '../model/growth';
import type { HeapWorkerClient } from '../heapWorker/client';
import type { TypeSummary } from '../protocol/heapWorker';
import type { HeapWorkers } from './heapWorkers';
import { RetainersPanel } from './panels/retainersPanel';
import { attachSources, callbacks, phaseText } from './retainers';
import { formatBytes, formatCount } from '../common/format';

class SnapshotDocument implements vscode.CustomDocument {
  /** Parsed and analysed: the summary rows (retained sizes included). */
  summary?: Promise<TypeSummary[]>;
  nodeCount = 0;
  private readonly cancel = new AbortController();

  constructor(readonly uri: vscode.Uri, readonly worker: HeapWorkerClient) {}

  get signal(): AbortSignal { return this.cancel.signal; }

  /** The last editor of the file closed: stop whatever runs and end the thread (frees its memory). */
  dispose(): void {
    this.cancel.abort();
    void this.worker.dispose();
  }
}

export class SnapshotEditorProvider implements vscode.CustomReadonlyEditorProvider<SnapshotDocument> {
  static readonly viewType = 'workerLens.heapSnapshot';
  private active: { doc: SnapshotDocument; panel: RetainersPanel } | undefined;

  constructor(private readonly extensionUri: vscode.Uri, private readonly workers: HeapWorkers, private readonly log: vscode.LogOutputChannel) {}

  static register(context: vscode.ExtensionContext, workers: HeapWorkers, log: vscode.LogOutputChannel): SnapshotEditorProvider {
    const p = new SnapshotEditorProvider(context.extensionUri, workers, log);
    context.subscriptions.push(vscode.window.registerCustomEditorProvider(SnapshotEditorProvider.viewType, p, { supportsMultipleEditorsPerDocument: false }));
    return p;
  }

  openCustomDocument(uri: vscode.Uri): SnapshotDocument {
    return new SnapshotDocument(uri, this.workers.start(`snapshot editor ${uri.fsPath}`));
  }

  async resolveCustomEditor(doc: SnapshotDocument, webviewPanel: vscode.WebviewPanel): Promise<void> {
    const panel = RetainersPanel.forWebviewPanel(webviewPanel, this.extensionUri, undefined, callbacks(this.log, () => doc.uri.fsPath));
    webviewPanel.onDidChangeViewState(e => { if (e.webviewPanel.active) this.active = { doc, panel }; });
    webviewPanel.onDidDispose(() => { if (this.active?.doc === doc) this.active = undefined; });
    this.active = { doc, panel };
    const name = doc.uri.fsPath.split('/').pop();
    panel.setStatus(`Reading ${name}…`, { busy: true });
    try {
      doc.summary ??= this.load(doc, panel);
      const rows = await doc.summary;
      const top = rows.filter(r => !isBuiltinType(r.className) && r.className !== '(anonymous)')
        .sort((x, y) => (y.retainedSize ?? 0) - (x.retainedSize ?? 0))[0] ?? rows[0];
      if (top) await this.draw(panel, top.className, doc);
      panel.setStatus(`${name}: ${formatCount(doc.nodeCount)} objects (parsed and analysed in a worker thread)`);
    } catch (e) {
      if (doc.signal.aborted) return; // closed while loading
      const msg = `${doc.uri.fsPath} is not a usable heap snapshot: ${(e as Error).message}`;
      this.log.error(msg);
      panel.setStatus(msg, { error: true });
    }
  }

  private async load(doc: SnapshotDocument, panel: RetainersPanel): Promise<TypeSummary[]> {
    const size = fs.statSync(doc.uri.fsPath).size;
    const name = doc.uri.fsPath.split('/').pop();
    const parsed = await doc.worker.parseFile(doc.uri.fsPath, {
      signal: doc.signal,
      onProgress: (_phase, done) => panel.setStatus(`Reading ${name}… ${size > 0 ? Math.floor((done / size) * 100) : 0}%`, { busy: true }),
    });
    doc.nodeCount = parsed.nodeCount;
    panel.setStatus(`Analysing ${formatCount(parsed.nodeCount)} objects…`, { busy: true });
    const s = await doc.worker.request('summary', { retained: true }, { signal: doc.signal, onProgress: phase => panel.setStatus(phaseText(phase, parsed.nodeCount), { busy: true }) });
    this.log.info(`${doc.uri.fsPath}: ${parsed.nodeCount} nodes, parsed in ${parsed.parseMs} ms, analysed in ${s.analysisMs} ms (heap worker thread)`);
    return s.rows;
  }

  /** Quick pick of the snapshot's types (program's own first, by retained size) for the active snapshot editor. */
  async chooseType(): Promise<void> {
    const cur = this.active;
    if (!cur?.doc.summary) { void vscode.window.showInformationMessage('Open a .heapsnapshot file first.'); return; }
    const rows = [...await cur.doc.summary].sort((x, y) => Number(isBuiltinType(x.className)) - Number(isBuiltinType(y.className)) || (y.retainedSize ?? 0) - (x.retainedSize ?? 0));
    const pick = await vscode.window.showQuickPick(rows.slice(0, 500).map(r => ({
      label: r.className, description: `${formatCount(r.count)} objects · retained ${formatBytes(r.retainedSize ?? 0)}`,
    })), { title: 'Show retainers of type', matchOnDescription: true });
    if (pick) await this.draw(cur.panel, pick.label, cur.doc);
  }

  private async draw(panel: RetainersPanel, type: string, doc: SnapshotDocument): Promise<void> {
    const { graph, definitions } = await doc.worker.request('graph', { type, source: doc.uri.fsPath.split('/').pop() }, { signal: doc.signal });
    attachSources(graph, definitions);
    panel.setGraph(graph);
  }
}
