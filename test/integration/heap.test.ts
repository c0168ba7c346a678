// Inside a real VS Code: a real Python process under the agent leaks objects; the Workers view
// finds it from its discovery file, attaching connects over CDP, and the Heap view's rows show the
// leaked type with a growing Δ; detaching and the process exiting are handled.
import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import type { WorkerLensApi } from '../../src/extension';
import { until } from './until';

const root = path.resolve(__dirname, '..', '..', '..');


suite('heap view over a real agent', () => {
  let child: ChildProcess | undefined;
  let api: WorkerLensApi;

  suiteSetup(async () => {
    const ext = vscode.extensions.getExtension<WorkerLensApi>('workerlens.workerlens')!;
    api = await ext.activate();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-heap-'));
    const script = path.join(dir, 'leaky_service.py');
    fs.writeFileSync(script, [
      'import time',
      'class LeakedRecord:',
      '    def __init__(self, i): self.i = i',
      'records = []',
      'while True:',
      '    records.extend(LeakedRecord(i) for i in range(400))',  // ≥ 8 KB per sample: issue 12's materiality floor
      '    time.sleep(0.2)',
    ].join('\n'));
    child = spawn('/usr/bin/python3', ['-m', 'workerlens_agent', 'run', script], { env: { ...process.env, PYTHONPATH: path.join(root, 'agent') }, stdio: 'ignore' });
  });

  suiteTeardown(() => { child?.kill('SIGKILL'); });

  test('the process appears with its agent, attaches, and LeakedRecord grows', async () => {
    const pid = child!.pid!;
    const row = await until('the agent process in Workers', async () => { await api.workers.refresh(); return api.workers.find(pid); });
    assert.equal(row.state, 'agent');
    const session = await api.sessions.attach(row, new AbortController().signal);
    api.heap.setSource(session);
    const first = await until('LeakedRecord with Δ > 0', async () => { await api.heap.refresh(); return api.heap.rows().find(r => r.type === 'LeakedRecord' && r.delta > 0); });
    const later = await until('LeakedRecord Δ growing', async () => { await api.heap.refresh(); return api.heap.rows().find(r => r.type === 'LeakedRecord' && r.delta > first.delta); });
    assert.equal(later.module, '__main__');
    assert.ok(later.growing, 'flagged as growing');
    await api.workers.refresh();
    assert.equal(api.workers.find(pid)?.state, 'attached');
  });

  test('allocation tracking puts the leaking line first, and stops on request', async () => {
    const session = api.sessions.get(child!.pid!)!;
    await api.allocations.start(session);
    const top = await until('a growing allocation site in leaky_service.py', async () => {
      await api.allocations.refresh();
      const r = api.allocations.rows()[0];
      return r && r.bytesDelta > 0 && r.url.endsWith('leaky_service.py') ? r : undefined;
    });
    assert.ok([2, 5].includes(top.lineNumber), `allocating line is the constructor call or its attribute store, got ${top.lineNumber + 1}`);
    await api.allocations.stop(null);
    assert.equal(api.allocations.tracking, false);
  });

  test('the process exiting drops the session and the view keeps its last rows', async () => {
    const pid = child!.pid!;
    const gone = new Promise<string | null>(resolve => api.sessions.onDidDetach(e => { if (e.session.pid === pid) resolve(e.reason); }));
    child!.kill('SIGKILL');
    const reason = await gone;
    assert.ok(reason, 'a reason is given');
    assert.ok(api.heap.rows().some(r => r.type === 'LeakedRecord'), 'last counts stay on screen');
    assert.equal(api.sessions.get(pid), undefined);
  });
});
