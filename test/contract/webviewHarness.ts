// Loads a panel's real page (same HTML, CSP and bundle as in VS Code) into headless Debian Chromium
// with a fake acquireVsCodeApi that records posted messages and keeps setState across reloads.
// Shared by the webview contract tests and bench/webview*.bench.ts.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import * as esbuild from 'esbuild';
import { panelHtml } from '../../src/ui/panels/panelHtml';
import type { HostToWebviewMessage, PanelKind, WebviewToHostMessage } from '../../src/protocol/webview';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'];

const root = path.resolve(__dirname, '..', '..', '..'); // out/test/contract -> repo
const entry = (panel: PanelKind) => `${panel}Main`;

/** dist/webview/<panel>Main.js, rebuilt (webview entries only) when missing or older than its sources. */
export async function ensureBundles(): Promise<void> {
  const srcDirs = [path.join(root, 'src', 'webview'), path.join(root, 'src', 'protocol')];
  const newest = Math.max(...srcDirs.flatMap(d => fs.readdirSync(d).filter(f => f.endsWith('.ts')).map(f => fs.statSync(path.join(d, f)).mtimeMs)));
  const outs = (['retainers', 'timeline', 'heap'] as PanelKind[]).map(p => path.join(root, 'dist', 'webview', `${entry(p)}.js`));
  if (outs.every(o => fs.existsSync(o) && fs.statSync(o).mtimeMs >= newest)) return;
  // Same options as esbuild.mjs's webview build.
  const entryPoints = fs.readdirSync(path.join(root, 'src', 'webview')).filter(f => f.endsWith('Main.ts')).map(f => path.join(root, 'src', 'webview', f));
  await esbuild.build({ bundle: true, sourcemap: true, logLevel: 'warning', legalComments: 'none', platform: 'browser', target: 'es2022', format: 'iife', entryPoints, outdir: path.join(root, 'dist', 'webview') });
}

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium (scripts/setup.sh) or set CHROMIUM`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
}

/** What VS Code gives a webview, faked: posted messages are recorded, state lives in sessionStorage (survives reload). */
const FAKE_VSCODE_API = `
  window.__posted = [];
  document.addEventListener('securitypolicyviolation', e => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));
  let acquired = false;
  window.acquireVsCodeApi = () => {
    if (acquired) throw new Error('acquireVsCodeApi called twice');
    acquired = true;
    return {
      postMessage: m => { window.__posted.push(JSON.parse(JSON.stringify(m))); },
      getState: () => { const s = sessionStorage.getItem('vscode-state'); return s ? JSON.parse(s) : undefined; },
      setState: s => { sessionStorage.setItem('vscode-state', JSON.stringify(s)); },
    };
  };`;

export interface PanelPageHandle {
  page: Page;
  /** Messages the page posted to the (fake) host, oldest first. */
  posted(): Promise<WebviewToHostMessage[]>;
  /** Waits until a message of `type` has been posted (polling), returns the latest of them. */
  waitFor<T extends WebviewToHostMessage['type']>(type: T, count?: number): Promise<Extract<WebviewToHostMessage, { type: T }>>;
  send(message: HostToWebviewMessage): Promise<void>;
  /** CSP violations and uncaught page errors seen so far. */
  problems: string[];
  /** A fresh page load with empty state and message log (cheaper than a new page per test). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Writes the page into a temp dir (file:// origin, CSP `file:` for styles) and opens it. */
export async function openPanel(browser: Browser, panel: PanelKind, viewport = { width: 1200, height: 800 }, stylesheet = 'panels.css'): Promise<PanelPageHandle> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wl-webview-${panel}-`));
  const html = panelHtml({
    panel, title: panel, cspSource: 'file:', nonce: 'bm9uY2UtZm9yLXRlc3Rz',
    scriptUri: pathToFileURL(path.join(root, 'dist', 'webview', `${entry(panel)}.js`)).href,
    styleUri: pathToFileURL(path.join(root, 'media', stylesheet)).href,
  });
  const file = path.join(dir, 'index.html');
  fs.writeFileSync(file, html);
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', e => problems.push(`pageerror: ${e.message}`));
  page.on('console', m => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  // Runs before the page's own script on every load (CDP, so the CSP does not apply to it).
  await page.addInitScript({ content: FAKE_VSCODE_API });
  await page.goto(pathToFileURL(file).href);
  const posted = () => page.evaluate('window.__posted') as Promise<WebviewToHostMessage[]>;
  const handle: PanelPageHandle = {
    page, problems, posted,
    async waitFor(type, count = 1) {
      for (let i = 0; i < 200; i++) {
        const all = (await posted()).filter(m => m.type === type);
        if (all.length >= count) return all[all.length - 1] as never;
        await new Promise(r => setTimeout(r, 25));
      }
      throw new Error(`the page did not post ${count} "${type}" message(s); got ${JSON.stringify(await posted())}`);
    },
    async send(message) { await page.evaluate(m => (globalThis as unknown as { postMessage(m: unknown, o: string): void }).postMessage(m, '*'), message); },
    async reset() {
      await page.evaluate('sessionStorage.clear()');
      problems.length = 0;
      await page.reload();
    },
    async close() { await context.close(); fs.rmSync(dir, { recursive: true, force: true }); },
  };
  return handle;
}
