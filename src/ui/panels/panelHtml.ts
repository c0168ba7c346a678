// The HTML page of a webview panel: one stylesheet, one script with a nonce, a strict CSP, no
// inline code, nothing from the network. Pure (no vscode import) so tests load the very same page.

import type { PanelKind } from '../../protocol/webview';

export interface PanelPage {
  panel: PanelKind;
  title: string;
  /** webview.cspSource (or the test page's origin). */
  cspSource: string;
  nonce: string;
  scriptUri: string;
  styleUri: string;
}

export function panelHtml(p: PanelPage): string {
  const csp = [
    "default-src 'none'",
    `style-src ${p.cspSource}`,
    `img-src ${p.cspSource} data:`,
    `font-src ${p.cspSource}`,
    `script-src 'nonce-${p.nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${esc(p.styleUri)}">
<title>${esc(p.title)}</title>
</head>
<body data-panel="${esc(p.panel)}">
<div id="app"></div>
<script nonce="${esc(p.nonce)}" src="${esc(p.scriptUri)}"></script>
</body>
</html>
`;
}

/** 128 random bits, base64url: a fresh one for every page load. */
export function makeNonce(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
