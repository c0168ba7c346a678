// Inside a real VS Code: heap snapshots are parsed and analysed in worker threads that live as
// long as their owner — a .heapsnapshot editor (closing it ends its thread) or one Show Retainers
// run (its thread ends once the graph is drawn) — and Show Retainers leaves no snapshot behind in
// the temp folder once its panel closes or shows another snapshot.
import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import type { WorkerLensApi } from '../../src/extension';
import type { HeapRow } from '../../src/model/heapTable';
import { buildSnapshot, NodeSpec } from '../unit/model/snapshotBuilder';
import { until } from './until';

const root = path.resolve(__dirname, '..', '..', '..');


const tempSnapshots = () => fs.readdirSync(os.tmpdir()).filter(n => /^workerlens-/.test(n) && fs.existsSync(path.join(os.tmpdir(), n)));

suite('heap worker threads and their lifetime', () => {
  let api: WorkerLensApi;
  let child: ChildProcess | undefined;
  let dir: string;

  suiteSetup(async () => {
    api = await vscode.extensions.getExtension<WorkerLensApi>('workerlens.workerlens')!.activate();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-hw-'));
  });

  suiteTeardown(async () => {
    child?.kill('SIGKILL');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a .heapsnapshot editor analyses in its own thread; closing the editor terminates it', async () => {
    const nodes: NodeSpec[] = [
      { type: 'synthetic', name: '', edges: [['element', 1, 1]] },
      { type: 'synthetic', name: '(modules)', edges: [['property', 'jobs', 2]] },
      { type: 'object', name: 'module', edges: [['property', 'pending', 3]] },
      { type: 'object', name: 'list', edges: [] },
    ];
    for (let i = 0; i < 500; i++) { nodes[3].edges!.push(['element', i, nodes.length]); nodes.push({ type: 'object', name: 'QueuedJob', size: 200 }); }
    const file = path.join(dir, 'jobs.heapsnapshot');
    fs.writeFileSync(file, buildSnapshot(nodes));
    const before = api.heapWorkers.list().length;
    await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(file), 'workerLens.heapSnapshot');
    const mine = await until('a heap worker for the editor', () => api.heapWorkers.list().find(w => w.purpose.includes(file)));
    assert.ok(mine.threadId > 0);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await until('the editor\'s heap worker terminated', () => !api.heapWorkers.list().some(w => w.threadId === mine.threadId));
    assert.equal(api.heapWorkers.list().length, before);
  });

  test('Show Retainers: its thread ends after drawing; one temp snapshot while the panel shows it, none after the panel closes', async () => {
    const script = path.join(dir, 'leaky_service.py');
    fs.writeFileSync(script, ['import time', 'class LeakedRecord:', '    def __init__(self, i): self.i = i', 'records = []',
      'while True:', '    records.extend(LeakedRecord(i) for i in range(50))', '    time.sleep(0.2)'].join('\n'));
    child = spawn('/usr/bin/python3', ['-m', 'workerlens_agent', 'run', script], { env: { ...process.env, PYTHONPATH: path.join(root, 'agent') }, stdio: 'ignore' });
    const pid = child.pid!;
    const row = await until('the agent process in Workers', async () => { await api.workers.refresh(); return api.workers.find(pid); });
    const session = await api.sessions.attach(row, new AbortController().signal);
    api.heap.setSource(session);
    const base = tempSnapshots().length;
    const heapRow = { type: 'LeakedRecord' } as HeapRow;
    await vscode.commands.executeCommand('workerLens.heap.showRetainers', heapRow);
    assert.equal(tempSnapshots().length, base + 1, 'the shown graph keeps its snapshot for "Save snapshot"');
    assert.ok(!api.heapWorkers.list().some(w => w.purpose.startsWith('retainers of')), 'the analysis thread ended once the graph was built');
    await vscode.commands.executeCommand('workerLens.heap.showRetainers', heapRow);
    assert.equal(tempSnapshots().length, base + 1, 'the second run replaced the first snapshot');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await until('the temp snapshot deleted with the panel', () => tempSnapshots().length === base, 10000);
    api.sessions.detach(pid);
  });
});
