// The language server over a real JSON-RPC stream pair (in process): workspace scan with progress,
// incremental edits, debounced diagnostics, quick fixes, hover, settings, syntax-error resilience.
import assert from 'node:assert/strict';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { MessageConnection, StreamMessageReader, StreamMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';
import { createConnection } from 'vscode-languageserver/node';
import type { CodeAction, Diagnostic, Hover, PublishDiagnosticsParams } from 'vscode-languageserver';
import { startServer } from '../../../src/server/server';
import { TWO_RACES } from '../raceSnippets';

const root = path.resolve(__dirname, '../../../..');
const workspace = path.join(root, 'test/fixtures/races');
const DOC = 'untitled:Untitled-1';
const TEXT = TWO_RACES;

let client: MessageConnection;
const diagnostics = new Map<string, PublishDiagnosticsParams>();
const progress: string[] = [];
let waiters: (() => void)[] = [];

function until<T>(what: string, probe: () => T | undefined, ms = 10000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { waiters = waiters.filter(w => w !== check); reject(new Error(`timed out waiting for ${what}`)); }, ms);
    const check = () => { const v = probe(); if (v !== undefined) { clearTimeout(timer); waiters = waiters.filter(w => w !== check); resolve(v); } };
    waiters.push(check);
    check();
  });
}
const codes = (uri: string) => (diagnostics.get(uri)?.diagnostics ?? []).map(d => `${d.code}@${d.range.start.line}`).join(',');

const up = new PassThrough(), down = new PassThrough();
before(async () => {
  startServer(createConnection(new StreamMessageReader(up), new StreamMessageWriter(down)));
  client = createMessageConnection(new StreamMessageReader(down), new StreamMessageWriter(up));
  client.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => { diagnostics.set(p.uri, p); waiters.forEach(w => w()); });
  client.onNotification('$/progress', (p: { value: { kind: string } }) => { progress.push(p.value.kind); waiters.forEach(w => w()); });
  client.onRequest('window/workDoneProgress/create', () => null);
  client.onNotification('window/logMessage', () => undefined);
  client.listen();
  await client.sendRequest('initialize', {
    // No processId: a pid would start the server's parent-process watchdog timer.
    processId: null, rootUri: null, capabilities: { window: { workDoneProgress: true } },
    workspaceFolders: [{ uri: pathToFileURL(workspace).href, name: 'races' }],
    initializationOptions: { races: { enabled: true, disabledRules: [], debounceMs: 5 }, docsUri: 'file:///opt/workerlens/README.md' },
  });
  await client.sendNotification('initialized', {});
});

after(async () => {
  await client.sendRequest('shutdown');
  client.dispose();
  up.end(); down.end();
});

test('workspace scan reports progress and publishes findings, following calls across modules', async () => {
  await until('progress end', () => (progress.includes('end') ? true : undefined));
  assert.equal(progress[0], 'begin');
  const metrics = pathToFileURL(path.join(workspace, 'shop/metrics.py')).href;
  await until('metrics.py diagnostics', () => diagnostics.get(metrics));
  assert.equal(codes(metrics), 'WL101@6,WL101@11');
  const d = diagnostics.get(metrics)!.diagnostics[0];
  assert.equal(d.source, 'Worker Lens');
  assert.equal(d.severity, 2);
  assert.equal(d.codeDescription!.href, 'file:///opt/workerlens/README.md#wl101-read-modify-write-of-shared-state');
});

test('open, incremental edit, quick fixes, hover', async () => {
  await client.sendNotification('textDocument/didOpen', { textDocument: { uri: DOC, languageId: 'python', version: 1, text: TEXT } });
  await until('first diagnostics', () => (codes(DOC) === 'WL101@7,WL102@12' ? true : undefined));
  const d: Diagnostic = diagnostics.get(DOC)!.diagnostics[0];
  assert.match(String(d.message), /module global `count`/);
  assert.equal(d.relatedInformation![0].location.range.start.line, 7);

  const actions = await client.sendRequest('textDocument/codeAction', { textDocument: { uri: DOC }, range: d.range, context: { diagnostics: [d] } }) as CodeAction[];
  // No pool named in the workspace: Celery's default, prefork, where a threading.Lock reaches no other process.
  assert.deepEqual(actions.map(a => a.title), ['Wrap in `with _count_lock:` (new module-level threading.Lock) — threads/gevent/eventlet pools only: prefork processes do not share it', 'Suppress WL101 on this line']);
  assert.equal(actions[0].isPreferred, true);
  assert.ok(actions[0].edit!.changes![DOC].length >= 2);

  const hover = await client.sendRequest('textDocument/hover', { textDocument: { uri: DOC }, position: { line: 7, character: 6 } }) as Hover;
  const hoverText = ((hover.contents as unknown) as { value: string }).value;
  assert.match(hoverText, /WL101: Read-modify-write of shared state[\s\S]*\(file:\/\/\/opt\/workerlens\/README\.md#wl101-/);
  assert.match(hoverText, /Pool: \*\*prefork\*\*, from Celery's default \(no worker_pool or --pool found in the workspace\)/);

  // The setting names the pool: threads, where the lock is the fix.
  diagnostics.delete(DOC);
  await client.sendNotification('workspace/didChangeConfiguration', { settings: { workerLens: { celery: { pool: 'threads' } } } });
  await until('re-analysed with the setting', () => diagnostics.get(DOC));
  const threads = await client.sendRequest('textDocument/codeAction', { textDocument: { uri: DOC }, range: d.range, context: { diagnostics: [d] } }) as CodeAction[];
  assert.equal(threads[0].title, 'Wrap in `with _count_lock:` (new module-level threading.Lock)');
  const hover2 = await client.sendRequest('textDocument/hover', { textDocument: { uri: DOC }, position: { line: 7, character: 6 } }) as Hover;
  assert.match(((hover2.contents as unknown) as { value: string }).value, /Pool: \*\*threads\*\*, from the workerLens\.celery\.pool setting/);
  assert.equal(await client.sendRequest('textDocument/hover', { textDocument: { uri: DOC }, position: { line: 0, character: 1 } }), null);

  // Incremental edit: append a suppression comment to line 7.
  await client.sendNotification('textDocument/didChange', {
    textDocument: { uri: DOC, version: 2 },
    contentChanges: [{ range: { start: { line: 7, character: 14 }, end: { line: 7, character: 14 } }, text: '  # workerlens: ignore[WL101]' }],
  });
  await until('suppressed', () => (diagnostics.get(DOC)?.version === 2 && codes(DOC) === 'WL102@12' ? true : undefined));
});

test('a syntax error keeps findings, in the edited function and beyond; settings turn rules off', async () => {
  await client.sendNotification('textDocument/didChange', {
    textDocument: { uri: DOC, version: 3 },
    contentChanges: [{ range: { start: { line: 7, character: 0 }, end: { line: 7, character: 43 } }, text: '    count += 1\n    x = {1: [' }],
  });
  await until('findings despite the syntax error', () => (diagnostics.get(DOC)?.version === 3 ? true : undefined));
  // Plus one information diagnostic where the file stops parsing (issue 18).
  assert.equal(codes(DOC), 'WL101@7,WL102@13,syntax@8');

  await client.sendNotification('workspace/didChangeConfiguration', { settings: { workerLens: { races: { enabled: true, disabledRules: ['WL101'], debounceMs: 5 } } } });
  await until('WL101 disabled', () => (codes(DOC) === 'WL102@13,syntax@8' ? true : undefined));
  await client.sendNotification('workspace/didChangeConfiguration', { settings: { workerLens: { races: { enabled: false } } } });
  await until('all off', () => (codes(DOC) === '' ? true : undefined));
  await client.sendNotification('textDocument/didClose', { textDocument: { uri: DOC } });
});
