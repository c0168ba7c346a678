import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AttachError, connectWorker } from '../../../src/cdp/workerConnection';
import { FakeTransport, fakeConnector } from '../../../src/cdp/fakeTransport';
import { InjectError } from '../../../src/cdp/inject';
import type { DiscoveryFile, ProcessInfo } from '../../../src/protocol/agent';
import { buildSnapshot } from '../model/snapshotBuilder';

const refused = { allowed: false, refusedHint: 'turn it on' };
const info: ProcessInfo = { pid: 4242, ppid: 1, role: 'child', processName: 'ForkPoolWorker-1', workerName: 'celery@h', pool: 'prefork', pythonVersion: '3.11.2',
  implementation: 'cpython', executable: '/usr/bin/python3', argv: [], rssBytes: 0, startedAt: 0, agentVersion: '0.1.0', injected: false };

/** A V8 inspector as a fake: no Python domain; a snapshot streamed in two chunks. */
function v8(snapshot: string): FakeTransport {
  const t = new FakeTransport();
  return t.handle('HeapProfiler.takeHeapSnapshot', () => {
    t.emit('HeapProfiler.addHeapSnapshotChunk', { chunk: snapshot.slice(0, 50) });
    t.emit('HeapProfiler.addHeapSnapshotChunk', { chunk: snapshot.slice(50) });
    return {};
  });
}

test('--connect: a target without the Python domain is a Node worker; its counts come from a snapshot by class', async () => {
  const text = buildSnapshot([
    { type: 'synthetic', name: '', edges: [['element', 1, 1], ['element', 2, 2], ['element', 3, 3]] },
    { type: 'object', name: 'Job', size: 40 }, { type: 'object', name: 'Job', size: 40 }, { type: 'object', name: 'Queue', size: 100 },
  ]);
  const t = v8(text);
  const c = await connectWorker({ connect: 'ws://127.0.0.1:9229/abc' }, { injection: refused, activation: { allowed: false }, reconnect: false, connector: fakeConnector(() => t) });
  assert.equal(c.kind, 'node');
  assert.equal(c.info, null);
  assert.equal(c.endpointUrl(), 'ws://127.0.0.1:9229/abc');
  const { result, snapshot } = await c.heapCounts();
  assert.ok(snapshot);
  const job = result.counts.find(r => r.type === 'Job');
  assert.deepEqual(job, { type: 'Job', module: '', count: 2, size: 80 });
  assert.equal(result.totalObjects, 4);
  c.dispose();
  assert.equal(t.closed, true);
});

test('--connect: a target that answers Python.getProcessInfo is the agent; counts come from Python.getObjectCounts', async () => {
  const t = new FakeTransport().handle('Python.getProcessInfo', () => info)
    .handle('Python.getObjectCounts', () => ({ counts: [{ type: 'Payload', module: 'tasks', count: 3, size: 144 }], totalObjects: 3, totalSize: 144, pauseMs: 1, timestamp: 1 }));
  const c = await connectWorker({ connect: 'ws://127.0.0.1:5000/tok' }, { injection: refused, activation: { allowed: false }, reconnect: false, connector: fakeConnector(() => t) });
  assert.equal(c.kind, 'python');
  assert.equal(c.label, 'pid 4242 (ForkPoolWorker-1)');
  const { result, snapshot } = await c.heapCounts();
  assert.equal(snapshot, null);
  assert.equal(result.counts[0].type, 'Payload');
  assert.deepEqual(t.sent.map(s => s.method), ['Python.getProcessInfo', 'Python.getObjectCounts']);
  c.dispose();
});

test('a pid with a discovery file connects to its agent and names it like the Workers view', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-conn-'));
  const saved = process.env.XDG_RUNTIME_DIR;
  process.env.XDG_RUNTIME_DIR = dir;
  try {
    fs.mkdirSync(path.join(dir, 'workerlens'));
    const d: DiscoveryFile = { pid: process.pid, ppid: 1, host: '127.0.0.1', port: 4000, token: 'secret', role: 'child', processName: 'ForkPoolWorker-3',
      workerName: 'celery@h', pool: 'prefork', pythonVersion: '3.11.2', executable: '/usr/bin/python3', agentVersion: '0.1.0', startedAt: 0 };
    fs.writeFileSync(path.join(dir, 'workerlens', `${process.pid}.json`), JSON.stringify(d));
    const seen: string[] = [];
    const t = new FakeTransport().handle('Python.getProcessInfo', () => ({ ...info, pid: process.pid, processName: 'ForkPoolWorker-3' }));
    const c = await connectWorker({ pid: process.pid }, { injection: refused, activation: { allowed: false }, reconnect: false, connector: fakeConnector(e => { seen.push(e.webSocketUrl); return t; }) });
    assert.equal(c.kind, 'python');
    assert.equal(c.label, `ForkPoolWorker-3 (pid ${process.pid})`);
    assert.deepEqual(seen, ['ws://127.0.0.1:4000/secret']);
    assert.equal(c.endpointUrl(), 'ws://127.0.0.1:4000/secret');
    c.dispose();
  } finally {
    if (saved === undefined) delete process.env.XDG_RUNTIME_DIR; else process.env.XDG_RUNTIME_DIR = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('pids are classified by model/workerList: no process, a Node process without an inspector, a Python process with injection off', async () => {
  await assert.rejects(connectWorker({ pid: 999_999_999 }, { injection: refused, activation: { allowed: false } }), (e: unknown) => e instanceof AttachError && e.code === 'no-process');
  await assert.rejects(connectWorker({ pid: process.pid }, { injection: refused, activation: { allowed: false } }),
    (e: unknown) => e instanceof AttachError && e.code === 'no-inspector' && /Node process without an open inspector/.test(e.message));
  const py = spawn('/usr/bin/python3', ['-c', 'import time; time.sleep(30)'], { stdio: 'ignore' });
  try {
    await new Promise(r => setTimeout(r, 200));
    await assert.rejects(connectWorker({ pid: py.pid! }, { injection: refused, activation: { allowed: false } }),
      (e: unknown) => e instanceof InjectError && e.code === 'injection-off' && e.message === `pid ${py.pid} runs no Worker Lens agent` && e.hint === 'turn it on');
  } finally {
    py.kill();
  }
});

test('not a worker: a process that is neither Python nor Node', async () => {
  const sh = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
  try {
    await new Promise(r => setTimeout(r, 100));
    await assert.rejects(connectWorker({ pid: sh.pid! }, { injection: refused, activation: { allowed: false } }), (e: unknown) => e instanceof AttachError && e.code === 'not-a-worker');
  } finally {
    sh.kill();
  }
});
