// Inside a real VS Code: the Heap view (a webview) over two real agents — each worker keeps its
// baseline and Δ when the view switches between them; after Show Retainers the Retained column
// holds the Retainers panel's figures and the per-instance shallow size equals the panel's.
import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import type { WorkerLensApi } from '../../src/extension';
import type { RetainerGraph } from '../../src/protocol/webview';
import type { HeapViewState } from '../../src/protocol/heapView';
import { until } from './until';

const root = path.resolve(__dirname, '..', '..', '..');

function leaky(dir: string, name: string, perTick: number): ChildProcess {
  const script = path.join(dir, `${name}.py`);
  fs.writeFileSync(script, ['import time', `class ${name}:`, '    def __init__(self, i): self.i = i', 'records = []',
    'while True:', `    records.extend(${name}(i) for i in range(${perTick}))`, '    time.sleep(0.2)'].join('\n'));
  return spawn('/usr/bin/python3', ['-m', 'workerlens_agent', 'run', script], { env: { ...process.env, PYTHONPATH: path.join(root, 'agent') }, stdio: 'ignore' });
}

suite('heap table view over two real agents', () => {
  let api: WorkerLensApi;
  const children: ChildProcess[] = [];
  let dir: string;

  suiteSetup(async () => {
    api = await vscode.extensions.getExtension<WorkerLensApi>('workerlens.workerlens')!.activate();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-ht-'));
    children.push(leaky(dir, 'RecordA', 100), leaky(dir, 'RecordB', 100));
  });

  suiteTeardown(async () => {
    for (const c of children) { if (c.pid) api.sessions.detach(c.pid); c.kill('SIGKILL'); }
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    // give the focus back to the editor area (the Heap view's page had it): later suites edit documents
    await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('switching between two attached workers keeps each one\'s baseline and Δ; the page gets the rows', async () => {
    const [a, b] = await Promise.all(children.map(async c => {
      const row = await until(`pid ${c.pid} in Workers`, async () => { await api.workers.refresh(); return api.workers.find(c.pid!); });
      return api.sessions.attach(row, new AbortController().signal);
    }));
    await vscode.commands.executeCommand('workerLens.heap.focus');
    const states: HeapViewState[] = [];
    const sub = api.heap.onDidRender(s => states.push(s));
    try {
      api.heap.setSource(a);
      const firstA = await until('RecordA with Δ > 0', async () => { await api.heap.refresh(); return api.heap.rows().find(r => r.type === 'RecordA' && r.delta > 0); });
      const baselineA = api.heap.baselineAt;
      api.heap.setSource(b);
      await until('RecordB with Δ > 0', async () => { await api.heap.refresh(); return api.heap.rows().find(r => r.type === 'RecordB' && r.delta > 0); });
      api.heap.setSource(a);
      assert.equal(api.heap.baselineAt, baselineA, 'the baseline of A survived the switch');
      const back = api.heap.rows().find(r => r.type === 'RecordA');
      assert.ok(back && back.delta >= firstA.delta, `Δ kept (${firstA.delta} → ${back?.delta})`);
      // (setSource's own refresh may be in flight: wait for a newer count)
      await until('RecordA Δ counting on from the same baseline', async () => { await api.heap.refresh(); return api.heap.rows().find(r => r.type === 'RecordA' && r.delta > back.delta); });
      assert.equal(api.heap.baselineAt, baselineA);
      const shown = await until('the page was sent RecordA rows', () => states.find(s => s.rows.some(r => r.type === 'RecordA') && s.status.includes(`pid ${a.pid}`)), 20000);
      assert.equal(shown.hasSource, true);
    } finally { sub.dispose(); }
  });

  test('after Show Retainers the Retained column has the panel\'s figures; shallow per instance is the panel\'s self size', async () => {
    const row = api.heap.rows().find(r => r.type === 'RecordA')!;
    assert.equal(row.retained.known, false, 'unknown before any snapshot');
    const graph = await vscode.commands.executeCommand<RetainerGraph | undefined>('workerLens.heap.showRetainers', row);
    assert.ok(graph, 'a graph was drawn');
    const target = graph.nodes.find(n => n.isTarget && n.type === 'RecordA')!;
    assert.ok(target, 'a RecordA instance in the graph');
    const after = await until('RecordA retained size known', () => api.heap.rows().find(r => r.type === 'RecordA' && r.retained.known));
    assert.ok(after.retained.known && after.retained.bytes >= target.retainedSize, 'the type retains at least one instance\'s retained size');
    assert.equal(after.size / after.count, target.selfSize, 'one definition of an instance\'s shallow size');
    assert.equal(after.sizeSampled, false, 'a fixed-size type is exact');
  });
});
