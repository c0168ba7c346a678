// The heap worker thread, for real (out/src/heapWorker/main.js in a worker_threads Worker): the
// typed requests, streamed and file parses, progress, cancellation, and dispose ending the thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HeapWorkerClient, HeapWorkerError } from '../../../src/heapWorker/client';
import { HeapState, CancelledError, RequestContext } from '../../../src/heapWorker/heapState';
import { HeapAnalysis } from '../../../src/model/leakReport';
import { parseHeapSnapshot } from '../../../src/model/heapSnapshot';
import { buildRetainerGraph } from '../../../src/model/retainerGraph';
import { buildSnapshot, NodeSpec } from '../model/snapshotBuilder';

const SCRIPT = path.join(__dirname, '..', '..', '..', 'src', 'heapWorker', 'main.js');

/** root → (modules) → tasks module → leaky_storage list → n Payloads; plus a Session held by a Map. */
function heap(n: number): string {
  const nodes: NodeSpec[] = [
    { type: 'synthetic', name: '', edges: [['element', 1, 1]] },
    { type: 'synthetic', name: '(modules)', edges: [['property', 'tasks', 2]] },
    { type: 'object', name: 'module', edges: [['property', 'leaky_storage', 3], ['property', 'cache', 4]] },
    { type: 'object', name: 'list', edges: [] },
    { type: 'object', name: 'Map', edges: [['internal', 'table', 5]] },
    { type: 'object', name: 'Session', size: 64 },
  ];
  for (let i = 0; i < n; i++) { nodes[3].edges!.push(['element', i, nodes.length]); nodes.push({ type: 'object', name: 'Payload', size: 48 }); }
  return buildSnapshot(nodes);
}

test('typed requests over a real thread: stream parse, summary, retainers, dominators, graph — same answers as the model in-process', async () => {
  const text = heap(50);
  const w = new HeapWorkerClient(SCRIPT);
  try {
    const parse = w.parseStream();
    for (let i = 0; i < text.length; i += 97) parse.write(text.slice(i, i + 97));
    parse.end();
    const parsed = await parse.result;
    assert.equal(parsed.nodeCount, 56);
    assert.equal(parsed.bytes, Buffer.byteLength(text));
    const phases = new Set<string>();
    const sum = await w.request('summary', { retained: true }, { onProgress: p => phases.add(p) });
    assert.ok(phases.has('dominators'), [...phases].join());
    const payload = sum.rows.find(r => r.className === 'Payload')!;
    assert.equal(payload.count, 50);
    assert.equal(payload.selfSize, 2400);
    assert.equal(payload.retainedSize, 2400);
    const ret = await w.request('retainers', { type: 'Payload' });
    assert.equal(ret.instanceCount, 50);
    assert.equal(ret.clusters[0].count, 50);
    assert.deepEqual(ret.clusters[0].labels.slice(0, 2), ['tasks', 'leaky_storage']);
    const local = new HeapAnalysis(parseHeapSnapshot(text));
    const g = await w.request('graph', { type: 'Payload', source: 'test' });
    assert.deepEqual(g, buildRetainerGraph(local, 'Payload', { source: 'test' }));
    const payloadId = ret.clusters[0].sampleIds[0];
    const dom = await w.request('dominators', { nodeIds: [payloadId] });
    assert.deepEqual(dom.chains[0].chain.map(c => c.className), ['Payload', 'list', 'module', '(synthetic)']);
    assert.equal(dom.chains[0].chain[1].retainedSize, 10 + 50 * 48);
  } finally {
    await w.dispose();
  }
  assert.equal(w.alive, false);
});

test('a file parse reports byte progress; a bad file is a SnapshotFormatError and the worker keeps serving', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-hw-'));
  const w = new HeapWorkerClient(SCRIPT);
  try {
    const good = path.join(dir, 'a.heapsnapshot');
    fs.writeFileSync(good, heap(3000));
    const seen: number[] = [];
    const r = await w.parseFile(good, { onProgress: (phase, done) => { if (phase === 'parse') seen.push(done); } });
    assert.equal(r.nodeCount, 3006);
    assert.ok(seen.length >= 1 && seen.every(b => b > 0 && b <= fs.statSync(good).size), seen.join());
    const bad = path.join(dir, 'b.heapsnapshot');
    fs.writeFileSync(bad, heap(10).slice(0, 300));
    await assert.rejects(w.parseFile(bad), (e: unknown) => e instanceof HeapWorkerError && e.kind === 'SnapshotFormatError' && /ends early/.test(e.message));
    // the failed parse dropped the old snapshot: a query says so, clearly
    await assert.rejects(w.request('summary', { retained: false }), (e: unknown) => e instanceof HeapWorkerError && e.kind === 'NoSnapshotError');
    assert.equal((await w.parseFile(good)).nodeCount, 3006);
  } finally {
    await w.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('cancel: a streamed parse stops at once, and the worker answers the next request', async () => {
  const w = new HeapWorkerClient(SCRIPT);
  try {
    const ac = new AbortController();
    const parse = w.parseStream({ signal: ac.signal });
    const text = heap(10);
    parse.write(text.slice(0, 100));
    ac.abort();
    await assert.rejects(parse.result, (e: unknown) => e instanceof HeapWorkerError && e.kind === 'CancelledError');
    const again = w.parseStream();
    again.write(text);
    again.end();
    assert.equal((await again.result).nodeCount, 16);
  } finally {
    await w.dispose();
  }
});

test('cancel inside the analysis: the check between passes throws, no analysis is kept, a later query builds it', async () => {
  const state = new HeapState();
  let cancel = false;
  const ctx: RequestContext = {
    progress: () => undefined,
    checkCancelled: () => { if (cancel) throw new CancelledError('cancelled'); },
    chunks: async function* () { yield heap(20); },
  };
  await state.run('parse', { source: { kind: 'stream' } }, ctx);
  cancel = true;
  await assert.rejects(state.run('summary', { retained: true }, ctx), CancelledError);
  cancel = false;
  const s = await state.run('summary', { retained: true }, ctx);
  assert.ok(s.analysisMs >= 0);
  assert.equal(s.rows.find(r => r.className === 'Payload')?.retainedSize, 960);
});

test('dispose ends the thread: pending requests reject, later ones say the worker is not running', async () => {
  const w = new HeapWorkerClient(SCRIPT);
  const parse = w.parseStream();   // never ended: stays pending
  parse.write('{"snapshot":');
  await w.dispose();
  await assert.rejects(parse.result, (e: unknown) => e instanceof HeapWorkerError && e.kind === 'exited');
  await assert.rejects(w.request('summary', { retained: false }), (e: unknown) => e instanceof HeapWorkerError && /not running/.test(e.message));
});
