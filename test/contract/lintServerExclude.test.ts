// The bundled language server (`node dist/server.js --stdio`) on a workspace with test code and a
// file with a syntax error: test code gets no diagnostics until `workerLens.races.exclude` is
// emptied; the broken file gets its findings plus one information diagnostic at the error.
import assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { MessageConnection, StreamMessageReader, StreamMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';
import type { PublishDiagnosticsParams } from 'vscode-languageserver';

const root = path.resolve(__dirname, '../../..');
const RACE = 'import threading\ncount = 0\n\ndef work():\n    global count\n    count += 1\n\nthreading.Thread(target=work).start()\n';
let child: ChildProcess | undefined;
let conn: MessageConnection | undefined;
const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-server-exclude-'));

after(() => {
  conn?.dispose();
  if (child && child.exitCode === null) child.kill('SIGKILL');
  fs.rmSync(ws, { recursive: true, force: true });
});

test('server: test code excluded by the setting; a syntax error is one information diagnostic', async () => {
  const server = path.join(root, 'dist/server.js');
  if (!fs.existsSync(server) || !fs.existsSync(path.join(root, 'dist/tree-sitter-python.wasm'))) execFileSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
  fs.mkdirSync(path.join(ws, 'tests'));
  fs.writeFileSync(path.join(ws, 'tests', 'test_jobs.py'), RACE);
  fs.writeFileSync(path.join(ws, 'jobs.py'), RACE);
  fs.writeFileSync(path.join(ws, 'broken.py'), `${RACE}\ndef broken(:\n    pass\n`);
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
  const uri = (f: string) => pathToFileURL(path.join(ws, f)).href;
  const codes = (f: string) => (diags.get(uri(f))?.diagnostics ?? []).map(d => `${d.code}@${d.range.start.line + 1}:${d.severity}`);

  await c.sendRequest('initialize', { processId: null, rootUri: null, capabilities: {}, workspaceFolders: [{ uri: pathToFileURL(ws).href, name: 'ws' }] });
  await c.sendNotification('initialized', {});
  await until('first scan', () => logs.some(l => /scanned 2 Python files/.test(l)));
  assert.deepEqual(codes('jobs.py'), ['WL101@6:2']);
  // Warning for the finding, Information (3) for the syntax error at the bad def.
  assert.deepEqual(codes('broken.py'), ['WL101@6:2', 'syntax@10:3']);
  assert.match(String(diags.get(uri('broken.py'))!.diagnostics[1].message), /Syntax error here: .*findings in this file may be incomplete/);
  assert.equal(diags.get(uri('tests/test_jobs.py')), undefined, 'test code is not checked by default');

  // An opened test file stays quiet too.
  await c.sendNotification('textDocument/didOpen', { textDocument: { uri: uri('tests/test_jobs.py'), languageId: 'python', version: 1, text: RACE } });
  await until('the opened test file is published empty', () => diags.get(uri('tests/test_jobs.py'))?.diagnostics.length === 0);

  // The user empties the setting: test code is checked.
  logs.length = 0;
  await c.sendNotification('workspace/didChangeConfiguration', { settings: { workerLens: { races: { exclude: [] } } } });
  await until('test file diagnostics after the setting changes', () => codes('tests/test_jobs.py').includes('WL101@6:2'));

  await c.sendRequest('shutdown');
  const exited = new Promise<number | null>(r => proc.on('exit', code => r(code)));
  await c.sendNotification('exit');
  assert.equal(await exited, 0);
});
