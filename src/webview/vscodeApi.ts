// The one handle a webview gets on its host (acquireVsCodeApi may be called once per page), typed
// with the message contract, plus small DOM helpers shared by the panels.

import type { PanelKind, WebviewToHostMessage } from '../protocol/webview';
import { WEBVIEW_PROTOCOL_VERSION } from '../protocol/webview';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

export interface Host<S> {
  post(message: WebviewToHostMessage): void;
  getState(): Partial<S> | undefined;
  setState(state: S): void;
}

export function connectHost<S>(): Host<S> {
  const api = acquireVsCodeApi();
  return {
    post: m => api.postMessage(m),
    getState: () => { const s = api.getState(); return typeof s === 'object' && s !== null ? s as Partial<S> : undefined; },
    setState: s => api.setState(s),
  };
}

/** Listens for host messages (only objects with a string `type`) and says `ready` once listening. */
export function onHostMessages(host: Host<unknown>, panel: PanelKind, handle: (m: { type: string } & Record<string, unknown>) => void): void {
  window.addEventListener('message', (e: MessageEvent) => {
    const m: unknown = e.data;
    if (typeof m !== 'object' || m === null || typeof (m as { type?: unknown }).type !== 'string') return;
    try {
      handle(m as { type: string } & Record<string, unknown>);
    } catch (err) {
      // A bug drawing one message must not kill the panel: show it and tell the host.
      const message = `${panel} panel failed on ${(m as { type: string }).type}: ${(err as Error).message}`;
      showError(message);
      host.post({ type: 'error', panel, message });
    }
  });
  host.post({ type: 'ready', panel, protocolVersion: WEBVIEW_PROTOCOL_VERSION });
}

/** Creates an element with attributes and text (textContent only: data never becomes markup). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean | undefined> = {}, ...children: (Node | string | undefined)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'class') e.className = v as string;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== undefined) e.append(c);
  return e;
}

/** The panel-wide one-line error banner (role=alert), hidden when `message` is undefined. */
export function showError(message: string | undefined): void {
  let banner = document.getElementById('error');
  if (!banner) {
    banner = h('div', { id: 'error', role: 'alert', class: 'error-banner' });
    document.body.prepend(banner);
  }
  banner.textContent = message ?? '';
  banner.hidden = message === undefined;
}
