// The panel host classes against a fake `vscode` module (the real one only exists inside VS Code):
// page options and CSP, the ready handshake, state re-send after a hide/show, callbacks, disposal.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import Module from 'node:module';
import { leakyGraph } from './graphFixtures';

type Listener = (e: unknown) => void;
class Emitter {
  listeners: Listener[] = [];
  event = (l: Listener) => { this.listeners.push(l); return { dispose: () => { this.listeners = this.listeners.filter(x => x !== l); } }; };
  fire(e: unknown) { for (const l of [...this.listeners]) l(e); }
}
interface FakeUri { path: string; toString(): string }
const uri = (p: string): FakeUri => ({ path: p, toString: () => `https://webview.test${p}` });

class FakePanel {
  posted: { type: string }[] = [];
  title = '';
  visible = true;
  disposed = false;
  iconPath: unknown;
  readonly messages = new Emitter();
  readonly viewState = new Emitter();
  readonly disposeEv = new Emitter();
  webview = {
    options: {} as Record<string, unknown>, html: '', cspSource: 'https://webview.test',
    asWebviewUri: (u: FakeUri) => u,
    postMessage: (m: { type: string }) => { this.posted.push(m); return Promise.resolve(true); },
    onDidReceiveMessage: this.messages.event,
  };
  onDidChangeViewState = this.viewState.event;
  onDidDispose = this.disposeEv.event;
  constructor(readonly viewType: string, title: string, readonly options: Record<string, unknown>) { this.title = title; }
  reveal() { /* shown */ }
  dispose() { if (!this.disposed) { this.disposed = true; this.disposeEv.fire(undefined); } }
  /** The page (re)loaded and said ready. */
  ready(panel = 'retainers') { this.messages.fire({ type: 'ready', panel, protocolVersion: 1 }); }
  hide() { this.visible = false; this.viewState.fire({ webviewPanel: this }); }
}

const created: FakePanel[] = [];
const fakeVscode = {
  Uri: { joinPath: (base: FakeUri, ...parts: string[]) => uri([base.path, ...parts].join('/')) },
  ViewColumn: { Beside: -2, One: 1 },
  Disposable: class { constructor(private readonly fn: () => void) {} dispose() { this.fn(); } },
  window: { createWebviewPanel: (viewType: string, title: string, _col: unknown, options: Record<string, unknown>) => { const p = new FakePanel(viewType, title, options); created.push(p); return p; } },
};
const M = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
const realLoad = M._load;
M._load = (request, parent, isMain) => (request === 'vscode' ? fakeVscode : realLoad(request, parent, isMain));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { RetainersPanel } = require('../../../src/ui/panels/retainersPanel') as typeof import('../../../src/ui/panels/retainersPanel');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { TimelinePanel } = require('../../../src/ui/panels/timelinePanel') as typeof import('../../../src/ui/panels/timelinePanel');
const ext = uri('/ext') as never;
const last = () => created[created.length - 1];

test('Retainers panel: strict page, handshake, re-send after hide/show, callbacks, singleton, dispose', async () => {
  const calls: string[] = [];
  const errors: string[] = [];
  const panel = RetainersPanel.show(ext, undefined, {
    onOpenSource: (loc, id) => { calls.push(`open ${loc.file}:${loc.line} ${id}`); },
    onSaveSnapshot: () => { calls.push('save'); throw new Error('disk full'); },
    onError: m => errors.push(m),
  });
  const fake = last();
  assert.equal(fake.viewType, 'workerLens.retainers');
  assert.equal(fake.options.retainContextWhenHidden, false);
  assert.equal(fake.options.enableScripts, true);
  assert.deepEqual((fake.options.localResourceRoots as FakeUri[]).map(u => u.path), ['/ext/dist/webview', '/ext/media']);
  const html = fake.webview.html;
  const nonce = /script-src 'nonce-([\w-]+)'/.exec(html)?.[1];
  assert.ok(nonce && nonce.length >= 20, 'CSP carries a random nonce');
  assert.match(html, /default-src 'none'/);
  assert.match(html, new RegExp(`<script nonce="${nonce}" src="https://webview.test/ext/dist/webview/retainersMain.js"></script>`));
  assert.equal((html.match(/<script/g) ?? []).length, 1, 'one script tag, no inline code');
  assert.match(html, /<link rel="stylesheet" href="https:\/\/webview.test\/ext\/media\/panels.css">/);

  const graph = leakyGraph();
  panel.setGraph(graph);
  assert.equal(fake.posted.length, 0, 'nothing is posted before the page is ready');
  assert.equal(fake.title, 'Retainers: Payload');
  fake.ready();
  assert.deepEqual(fake.posted.map(m => m.type), ['retainers/graph']);
  fake.hide();
  panel.setStatus('Saved to /tmp/a.heapsnapshot');
  assert.equal(fake.posted.length, 1, 'a hidden (unloaded) page is not posted to');
  fake.visible = true;
  fake.ready();
  assert.deepEqual(fake.posted.map(m => m.type), ['retainers/graph', 'retainers/graph', 'retainers/status']);

  fake.messages.fire({ type: 'retainers/openSource', nodeId: '1', location: { file: '/a/tasks.py', line: 36 } });
  fake.messages.fire({ type: 'retainers/saveSnapshot' });
  fake.messages.fire({ type: 'retainers/openSource', nodeId: '1', location: { file: '/a/tasks.py', line: 0 } });
  fake.messages.fire({ type: 'error', panel: 'retainers', message: 'Cannot draw the retainers: x' });
  assert.deepEqual(calls, ['open /a/tasks.py:36 1', 'save']);
  assert.equal(errors.length, 3);
  assert.match(errors[0], /retainers\/saveSnapshot failed: disk full/);
  assert.match(errors[1], /unknown message/);
  assert.equal(errors[2], 'Cannot draw the retainers: x');

  assert.equal(RetainersPanel.show(ext, graph, {}), panel, 'one Retainers panel, revealed again');
  assert.equal(created.length, 1);
  assert.equal(RetainersPanel.update(graph), true);
  fake.dispose();
  assert.equal(panel.isDisposed, true);
  assert.equal(RetainersPanel.currentPanel, undefined);
  assert.equal(RetainersPanel.update(graph), false);
});

test('Timeline panel: appends are posted alone; a reloaded page gets everything; caps hold', () => {
  const panel = TimelinePanel.show(ext, { workers: [{ id: '1', label: 'w1' }], samples: [{ workerId: '1', t: 1, rss: 10 }], markers: [] });
  const fake = last();
  assert.equal(fake.viewType, 'workerLens.timeline');
  panel.append([{ workerId: '1', t: 2, rss: 11 }]);
  assert.equal(fake.posted.length, 0);
  fake.ready('timeline');
  const first = fake.posted[0] as unknown as { type: string; state: { samples: unknown[] } };
  assert.equal(first.type, 'timeline/state');
  assert.equal(first.state.samples.length, 2);
  assert.equal(TimelinePanel.update([{ workerId: '1', t: 3, rss: 12 }], [{ t: 3, name: 'tasks.leak' }]), true);
  assert.deepEqual(fake.posted[1], { type: 'timeline/append', samples: [{ workerId: '1', t: 3, rss: 12 }], markers: [{ t: 3, name: 'tasks.leak' }], workers: [] });
  panel.setBaseline({ t: 2 });
  assert.deepEqual(fake.posted[2], { type: 'timeline/baseline', baseline: { t: 2 } });
  // 30,000 more samples: the host keeps at most 25,000 (compacts to 20,000 past the 25 % slack)
  panel.append(Array.from({ length: 30_000 }, (_, i) => ({ workerId: '1', t: 10 + i, rss: i })));
  fake.hide(); fake.visible = true; fake.ready('timeline');
  const again = fake.posted[fake.posted.length - 1] as unknown as { state: { samples: { t: number }[]; baseline: unknown } };
  assert.ok(again.state.samples.length <= 25_000 && again.state.samples.length >= 20_000, `${again.state.samples.length} kept`);
  assert.equal(again.state.samples[again.state.samples.length - 1].t, 10 + 29_999, 'the newest are kept');
  assert.deepEqual(again.state.baseline, { t: 2 });
  panel.dispose();
  assert.equal(fake.disposed, true);
  assert.equal(TimelinePanel.update([]), false);
});
