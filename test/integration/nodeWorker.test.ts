// Inside a real VS Code: a plain Node worker started without --inspect is listed in Workers,
// Attach opens its inspector (SIGUSR1), the Heap view's counts come from V8 snapshots parsed in a
// heap worker thread (never on the extension host), and detaching ends that thread.
import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import type { WorkerLensApi } from '../../src/extension';
import { until } from './until';

const root = path.resolve(__dirname, '..', '..', '..');


suite('a Node worker without --inspect', () => {
  let child: ChildProcess | undefined;
  let api: WorkerLensApi;
  let dir: string;

  suiteSetup(async () => {
    api = await vscode.extensions.getExtension<WorkerLensApi>('workerlens.workerlens')!.activate();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-node-'));
    const script = path.join(dir, 'leaky-worker.js');
    fs.copyFileSync(path.join(root, 'test/fixtures/heap/leakyMap.js'), script);
    // --inspect-port=0: the inspector Attach opens takes any free port (9229 may be another test's)
    child = spawn(process.execPath, ['--inspect-port=0', script], { stdio: 'ignore' });
  });

  suiteTeardown(() => { child?.kill('SIGKILL'); fs.rmSync(dir, { recursive: true, force: true }); });

  test('listed as activatable, attached by opening its inspector; counts parsed in a heap worker thread that ends on detach', async () => {
    const pid = child!.pid!;
    const row = await until('the Node worker in Workers', async () => { await api.workers.refresh(); return api.workers.find(pid); });
    assert.equal(row.kind, 'node');
    assert.equal(row.state, 'activatable');
    const session = await api.sessions.attach(row, new AbortController().signal);
    assert.equal(session.kind, 'node');
    api.heap.setSource(session);
    const first = await until('Payload with Δ > 0', async () => { await api.heap.refresh(); return api.heap.rows().find(r => r.type === 'Payload' && r.delta > 0); }, 60000);
    assert.ok(first.count > 0);
    assert.ok(api.heapWorkers.list().some(w => w.purpose === `Heap view counts of node pid ${pid}`), 'counts come from a heap worker thread');
    api.sessions.detach(pid);
    await until('its heap worker thread ended', () => !api.heapWorkers.list().some(w => w.purpose.includes(`node pid ${pid}`)));
    assert.equal(child!.exitCode, null, 'the worker keeps running');
  });
});
