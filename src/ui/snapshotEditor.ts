// Opening a `.heapsnapshot` file (saved by Worker Lens, Chrome DevTools or Node) shows the Retainers
// panel for it: the file is streamed through the parser (never read whole into one string), the
// type holding the most memory among the program's own types is drawn first, and
// "Worker Lens: Show Retainers of Type…" switches type.
import * as vscode from 'vscode';
import fs from 'node:fs';
import { loadHeapSnapshot } from '../model/heapSnapshot';
import { HeapAnalysis } from '../model/leakReport';
import { isBuiltinType } from '../model/growth';
import { buildRetainerGraph } from '../model/retainerGraph';
import { RetainersPanel } from './panels/retainersPanel';
import { attachSources, callbacks } from './retainers';
import { formatBytes, formatCount } from '../common/format';

interface SnapshotDocument extends vscode.CustomDocument { analysis?: Promise<HeapAnalysis> }

export class SnapshotEditorProvider implements vscode.CustomReadonlyEditorProvider<SnapshotDocument> {
  static readonly viewType = 'workerLens.heapSnapshot';
  private active: { doc: SnapshotDocument; panel: RetainersPanel } | undefined;

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: vscode.LogOutputChannel) {}

  static register(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): SnapshotEditorProvider {
    const p = new SnapshotEditorProvider(context.extensionUri, log);
    context.subscriptions.push(vscode.window.registerCustomEditorProvider(SnapshotEditorProvider.viewType, p, { supportsMultipleEditorsPerDocument: false }));
    return p;
  }

  openCustomDocument(uri: vscode.Uri): SnapshotDocument {
    return { uri, dispose: () => undefined };
  }

  async resolveCustomEditor(doc: SnapshotDocument, webviewPanel: vscode.WebviewPanel): Promise<void> {
    const panel = RetainersPanel.forWebviewPanel(webviewPanel, this.extensionUri, undefined, callbacks(this.log, () => doc.uri.fsPath));
    webviewPanel.onDidChangeViewState(e => { if (e.webviewPanel.active) this.active = { doc, panel }; });
    this.active = { doc, panel };
    panel.setStatus(`Reading ${doc.uri.fsPath.split('/').pop()}…`, { busy: true });
    try {
      doc.analysis ??= loadHeapSnapshot(fs.createReadStream(doc.uri.fsPath)).then(s => new HeapAnalysis(s));
      const a = await doc.analysis;
      const top = a.summary.filter(r => !isBuiltinType(r.className) && r.className !== '(anonymous)')
        .sort((x, y) => (y.retainedSize ?? 0) - (x.retainedSize ?? 0))[0] ?? a.summary[0];
      if (top) this.draw(panel, a, top.className, doc);
    } catch (e) {
      const msg = `${doc.uri.fsPath} is not a usable heap snapshot: ${(e as Error).message}`;
      this.log.error(msg);
      panel.setStatus(msg, { error: true });
    }
  }

  /** Quick pick of the snapshot's types (program's own first, by retained size) for the active snapshot editor. */
  async chooseType(): Promise<void> {
    const cur = this.active;
    if (!cur?.doc.analysis) { void vscode.window.showInformationMessage('Open a .heapsnapshot file first.'); return; }
    const a = await cur.doc.analysis;
    const rows = [...a.summary].sort((x, y) => Number(isBuiltinType(x.className)) - Number(isBuiltinType(y.className)) || (y.retainedSize ?? 0) - (x.retainedSize ?? 0));
    const pick = await vscode.window.showQuickPick(rows.slice(0, 500).map(r => ({
      label: r.className, description: `${formatCount(r.count)} objects · retained ${formatBytes(r.retainedSize ?? 0)}`,
    })), { title: 'Show retainers of type', matchOnDescription: true });
    if (pick) this.draw(cur.panel, a, pick.label, cur.doc);
  }

  private draw(panel: RetainersPanel, a: HeapAnalysis, type: string, doc: SnapshotDocument): void {
    const { graph, definitions } = buildRetainerGraph(a, type, { source: doc.uri.fsPath.split('/').pop() });
    attachSources(graph, definitions);
    panel.setGraph(graph);
  }
}
