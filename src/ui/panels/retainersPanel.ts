// Host side of the Retainers panel (webview: src/webview/retainersMain.ts). Shows a RetainerGraph it
// is given and forwards the user's requests to the owner's callbacks; computes nothing itself.

import * as vscode from 'vscode';
import type { HostToWebviewMessage, RetainerGraph, SourceLocation, WebviewToHostMessage } from '../../protocol/webview';
import { PanelHost, panelOptions } from './panelHost';

export interface RetainersPanelCallbacks {
  /** Open `location` (1-based line) in an editor: a node with a source was clicked. */
  onOpenSource?(location: SourceLocation, nodeId: string): unknown;
  /** The "Save snapshot" button. */
  onSaveSnapshot?(): unknown;
  onNodeSelected?(nodeId: string): unknown;
  onToggle?(id: string, expanded: boolean): unknown;
  /** Problems reported by the page or thrown by a callback, one line each (log them). */
  onError?(message: string): void;
}

export class RetainersPanel extends PanelHost {
  static readonly viewType = 'workerLens.retainers';
  private static current: RetainersPanel | undefined;
  private graph: RetainerGraph | undefined;
  private status: Extract<HostToWebviewMessage, { type: 'retainers/status' }> | undefined;

  private constructor(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, private callbacks: RetainersPanelCallbacks) {
    super(panel, extensionUri, 'retainers', 'Retainers', m => callbacks.onError?.(m));
  }

  /** The open panel, if any. */
  static get currentPanel(): RetainersPanel | undefined { return RetainersPanel.current; }

  /**
   * Opens the Retainers panel (or reveals the open one) and shows `graph` (undefined: "waiting for
   * data", e.g. while the snapshot is taken; call update() when ready). Callbacks replace earlier ones.
   */
  static show(extensionUri: vscode.Uri, graph: RetainerGraph | undefined, callbacks: RetainersPanelCallbacks, column: vscode.ViewColumn = vscode.ViewColumn.Beside): RetainersPanel {
    const open = RetainersPanel.current;
    if (open && !open.isDisposed) {
      open.callbacks = callbacks;
      // Where it is: revealing it in another column (Beside) moves it there as a *preview* tab,
      // which the next single click in the Explorer replaced, snapshot and all (issue 13).
      open.reveal();
      if (graph) open.setGraph(graph);
      return open;
    }
    const panel = vscode.window.createWebviewPanel(RetainersPanel.viewType, RetainersPanel.title(graph), { viewColumn: column, preserveFocus: true }, panelOptions(extensionUri));
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'workerlens.svg');
    const p = new RetainersPanel(panel, extensionUri, callbacks);
    p.graph = graph;
    RetainersPanel.current = p;
    p.onDidDispose(() => { if (RetainersPanel.current === p) RetainersPanel.current = undefined; });
    return p;
  }

  /** Updates the open panel; false when none is open. */
  static update(graph: RetainerGraph): boolean {
    const p = RetainersPanel.current;
    if (!p || p.isDisposed) return false;
    p.setGraph(graph);
    return true;
  }

  /**
   * Drives a webview the caller created, e.g. a custom editor for `.heapsnapshot` files
   * (resolveCustomEditor): same page and messages, not the singleton.
   */
  static forWebviewPanel(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, graph: RetainerGraph | undefined, callbacks: RetainersPanelCallbacks): RetainersPanel {
    const p = new RetainersPanel(panel, extensionUri, callbacks);
    p.graph = graph;
    return p;
  }

  private static title(graph: RetainerGraph | undefined): string {
    return graph ? `Retainers: ${graph.targetType}` : 'Retainers';
  }

  setGraph(graph: RetainerGraph): void {
    this.graph = graph;
    this.panel.title = RetainersPanel.title(graph);
    this.post({ type: 'retainers/graph', graph });
  }

  /** Selects and focuses a node in the graph. */
  select(nodeId: string): void {
    this.post({ type: 'retainers/select', nodeId });
  }

  /** One line in the panel's header, e.g. "Saved to /tmp/w.heapsnapshot" or a progress text. */
  setStatus(text: string, opts: { busy?: boolean; error?: boolean } = {}): void {
    this.status = { type: 'retainers/status', text, ...opts };
    this.post(this.status);
  }

  protected stateMessages(): HostToWebviewMessage[] {
    const out: HostToWebviewMessage[] = [];
    if (this.graph) out.push({ type: 'retainers/graph', graph: this.graph });
    if (this.status) out.push(this.status);
    return out;
  }

  protected handle(m: WebviewToHostMessage): unknown {
    const cb = this.callbacks;
    switch (m.type) {
      case 'retainers/openSource': return cb.onOpenSource?.(m.location, m.nodeId);
      case 'retainers/saveSnapshot': return cb.onSaveSnapshot?.();
      case 'retainers/nodeSelected': return cb.onNodeSelected?.(m.nodeId);
      case 'retainers/toggle': return cb.onToggle?.(m.id, m.expanded);
      default: return undefined;
    }
  }
}
