// The bundled language server as VS Code runs it: `node dist/server.js --stdio` in its own process,
// a workspace scan of the example app, diagnostics for an opened file, clean shutdown.
import assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { MessageConnection, StreamMessageReader, StreamMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';
import type { PublishDiagnosticsParams } from 'vscode-languageserver';

const root = path.resolve(__dirname, '../../..');
let child: ChildProcess | undefined;
let conn: MessageConnection | undefined;

after(() => {
  conn?.dispose();
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

test('dist/server.js over stdio: scan, diagnostics, shutdown', async () => {
  const server = path.join(root, 'dist/server.js');
  if (!fs.existsSync(server) || !fs.existsSync(path.join(root, 'dist/tree-sitter-python.wasm'))) execFileSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
  const proc = spawn(process.execPath, [server, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  child = proc;
  let stderr = '';
  proc.stderr!.on('data', d => { stderr += d; });
  const c = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
  conn = c;
  const diags = new Map<string, PublishDiagnosticsParams>();
  const logs: string[] = [];
  let changed = () => undefined as void;
  c.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => { diags.set(p.uri, p); changed(); });
  c.onNotification('window/logMessage', (m: { message: string }) => { logs.push(m.message); changed(); });
  c.listen();
  const until = (what: string, ok: () => boolean) => new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stderr: ${stderr}; logs: ${logs.join(' | ')}`)), 20000);
    changed = () => { if (ok()) { clearTimeout(t); resolve(); } };
    changed();
  });

  const ws = path.join(root, 'examples/celery-leaky');
  const init = await c.sendRequest('initialize', { processId: null, rootUri: null, capabilities: {}, workspaceFolders: [{ uri: pathToFileURL(ws).href, name: 'celery-leaky' }] }) as { capabilities: { textDocumentSync: { change: number } } };
  assert.equal(init.capabilities.textDocumentSync.change, 2, 'incremental sync');
  await c.sendNotification('initialized', {});
  const tasks = pathToFileURL(path.join(ws, 'tasks.py')).href;
  await until('scan diagnostics for tasks.py', () => !!diags.get(tasks));
  assert.deepEqual(diags.get(tasks)!.diagnostics.map(d => `${d.code}@${d.range.start.line + 1}`), ['WL101@53', 'WL102@69']);
  await until('scan summary log', () => logs.some(l => /scanned \d+ Python files in \d+ ms: 2 race risks/.test(l)));

  const other = 'file:///tmp/workerlens-not-on-disk.py';
  await c.sendNotification('textDocument/didOpen', { textDocument: { uri: other, languageId: 'python', version: 1, text: 'import threading\nn = 0\ndef work():\n    global n\n    n += 1\nthreading.Thread(target=work).start()\n' } });
  await until('diagnostics of the opened file', () => (diags.get(other)?.diagnostics.length ?? 0) > 0);
  assert.match(String(diags.get(other)!.diagnostics[0].message), /threads running `work`/);

  await c.sendRequest('shutdown');
  const exited = new Promise<number | null>(r => proc.on('exit', code => r(code)));
  await c.sendNotification('exit');
  assert.equal(await exited, 0);
});
