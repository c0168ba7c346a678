// What both panel hosts share: the WebviewPanel with a strict page, the ready handshake, re-sending
// the state whenever the page (re)loads, and disposal. No business logic: the owner supplies data
// and callbacks.

import * as vscode from 'vscode';
import { isWebviewToHostMessage, type HostToWebviewMessage, type PanelKind, type WebviewToHostMessage } from '../../protocol/webview';
import { makeNonce, panelHtml } from './panelHtml';

/** The folders a panel page may load from: the webview bundles and the stylesheet. */
export function panelResourceRoots(extensionUri: vscode.Uri): vscode.Uri[] {
  return [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')];
}

/** Options for vscode.window.createWebviewPanel (also right for a custom editor's webview). */
export function panelOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  // retainContextWhenHidden=false: a hidden panel costs no memory; the page reloads when shown and
  // the host re-sends its state on `ready`.
  return { enableScripts: true, retainContextWhenHidden: false, enableFindWidget: false, localResourceRoots: panelResourceRoots(extensionUri) };
}

export abstract class PanelHost implements vscode.Disposable {
  private ready = false;
  private disposed = false;
  protected readonly disposables: vscode.Disposable[] = [];
  private readonly disposeListeners: (() => void)[] = [];

  protected constructor(readonly panel: vscode.WebviewPanel, extensionUri: vscode.Uri, private readonly kind: PanelKind, title: string, private readonly onError: ((message: string) => void) | undefined) {
    const webview = panel.webview;
    webview.options = { enableScripts: true, localResourceRoots: panelResourceRoots(extensionUri) };
    webview.html = panelHtml({
      panel: kind, title, cspSource: webview.cspSource, nonce: makeNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${kind}Main.js`)).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'panels.css')).toString(),
    });
    this.disposables.push(
      webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
      // Hidden means the page is gone (retainContextWhenHidden=false): wait for its next `ready`.
      panel.onDidChangeViewState(e => { if (!e.webviewPanel.visible) this.ready = false; }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  /** Full state, sent after every `ready` (first load and each reload). */
  protected abstract stateMessages(): HostToWebviewMessage[];
  /** A validated message from the page other than `ready` and `error`. */
  protected abstract handle(message: WebviewToHostMessage): unknown;

  get isReady(): boolean { return this.ready; }
  get isDisposed(): boolean { return this.disposed; }

  /** Runs `fn` when the panel is closed (by the user or dispose()). */
  onDidDispose(fn: () => void): vscode.Disposable {
    this.disposeListeners.push(fn);
    return new vscode.Disposable(() => { const i = this.disposeListeners.indexOf(fn); if (i >= 0) this.disposeListeners.splice(i, 1); });
  }

  reveal(column?: vscode.ViewColumn, preserveFocus = true): void {
    if (!this.disposed) this.panel.reveal(column, preserveFocus);
  }

  /** Posts now when the page listens; otherwise the next `ready` sends the whole state anyway. */
  protected post(message: HostToWebviewMessage): void {
    if (!this.ready || this.disposed) return;
    this.panel.webview.postMessage(message).then(undefined, (e: unknown) => this.report(`posting ${message.type} to the ${this.kind} panel failed: ${String(e)}`));
  }

  protected report(message: string): void {
    try { this.onError?.(message); } catch { /* the reporter itself failed: nothing better to do */ }
  }

  /** Calls an owner's callback; a throw or rejection is reported, never lost or crashing the host. */
  protected call(what: string, fn: (() => unknown) | undefined): void {
    if (!fn) return;
    try {
      const r = fn();
      if (r instanceof Promise) r.catch((e: unknown) => this.report(`${this.kind} panel: ${what} failed: ${(e as Error)?.message ?? String(e)}`));
    } catch (e) {
      this.report(`${this.kind} panel: ${what} failed: ${(e as Error)?.message ?? String(e)}`);
    }
  }

  private receive(m: unknown): void {
    if (!isWebviewToHostMessage(m)) { this.report(`${this.kind} panel sent an unknown message: ${JSON.stringify(m)?.slice(0, 200)}`); return; }
    if (m.type === 'ready') {
      this.ready = true;
      for (const s of this.stateMessages()) this.post(s);
      return;
    }
    if (m.type === 'error') { this.report(m.message); return; }
    this.call(m.type, () => this.handle(m));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.ready = false;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
    for (const fn of this.disposeListeners.splice(0)) { try { fn(); } catch (e) { this.report(`${this.kind} panel: dispose listener failed: ${(e as Error).message}`); } }
  }
}
