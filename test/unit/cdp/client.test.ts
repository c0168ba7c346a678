import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CdpClient, ClientState } from '../../../src/cdp/client';
import { CdpError } from '../../../src/cdp/errors';
import { FakeTransport, fakeConnector } from '../../../src/cdp/fakeTransport';
import { CdpProtocolError } from '../../../src/cdp/transport';

const endpoint = { webSocketUrl: 'ws://127.0.0.1:1/tok', label: 'pid 42' };

async function connected(t: FakeTransport, extra: Partial<Parameters<typeof CdpClient.connect>[0]> = {}) {
  return CdpClient.connect({ worker: 'pid 42 (ForkPoolWorker-1)', locate: async () => endpoint, connector: fakeConnector(() => t), reconnectDelaysMs: false, ...extra });
}

function isCdpError(kind: string, method: string) {
  return (e: unknown) => e instanceof CdpError && e.kind === kind && e.method === method && e.message.includes(method) && e.message.includes('pid 42');
}

test('a call resolves with the typed result and sends the params', async () => {
  const t = new FakeTransport().handle('Python.getObjectCounts', () => ({ counts: [{ type: 'Payload', module: 'tasks', count: 3, size: 144 }], totalObjects: 3, totalSize: 144, pauseMs: 1, timestamp: 1 }));
  const c = await connected(t);
  const r = await c.python.getObjectCounts({ limit: 5 });
  assert.equal(r.counts[0].type, 'Payload');
  assert.deepEqual(t.sent, [{ method: 'Python.getObjectCounts', params: { limit: 5 } }]);
  c.dispose();
});

test('a call with no answer times out naming the method and the worker', async () => {
  const c = await connected(new FakeTransport().hang('Python.getProcessInfo'));
  await assert.rejects(c.python.getProcessInfo({ timeoutMs: 20 }), isCdpError('timeout', 'Python.getProcessInfo'));
  c.dispose();
});

test('a call is cancelled by its AbortSignal, before or while it runs', async () => {
  const t = new FakeTransport().hang('Runtime.getHeapUsage');
  const c = await connected(t);
  const ac = new AbortController();
  const p = c.runtime.getHeapUsage({ signal: ac.signal, timeoutMs: 0 });
  setImmediate(() => ac.abort());
  await assert.rejects(p, isCdpError('cancelled', 'Runtime.getHeapUsage'));
  const sentBefore = t.sent.length;
  await assert.rejects(c.runtime.getHeapUsage({ signal: AbortSignal.abort() }), isCdpError('cancelled', 'Runtime.getHeapUsage'));
  assert.equal(t.sent.length, sentBefore, 'an already-cancelled call is not sent');
  c.dispose();
});

test('a connection drop mid-call rejects every pending call at once', async () => {
  const t = new FakeTransport().hang('Python.getObjectCounts').hang('Python.getTaskStats');
  const c = await connected(t);
  const a = c.python.getObjectCounts({}, { timeoutMs: 0 });
  const b = c.python.getTaskStats({ timeoutMs: 0 });
  await new Promise(r => setImmediate(r));
  t.drop('the worker went away');
  await assert.rejects(a, isCdpError('disconnected', 'Python.getObjectCounts'));
  await assert.rejects(b, isCdpError('disconnected', 'Python.getTaskStats'));
  assert.equal(c.state, 'closed');
  await assert.rejects(c.python.getTaskStats(), isCdpError('closed', 'Python.getTaskStats'));
});

test('after a drop the client reconnects where locate says, keeps event subscriptions, and calls work again', async () => {
  const first = new FakeTransport().hang('Python.getObjectCounts');
  const second = new FakeTransport().handle('Python.getObjectCounts', () => ({ counts: [], totalObjects: 7, totalSize: 0, pauseMs: 0, timestamp: 2 }));
  const transports = [first, second];
  const located: string[] = [];
  const c = await CdpClient.connect({
    worker: 'pid 42', reconnectDelaysMs: [1, 1],
    locate: async () => { const ep = { webSocketUrl: `ws://127.0.0.1:${located.length + 1}/t`, label: 'pid 42' }; located.push(ep.webSocketUrl); return ep; },
    connector: fakeConnector(() => transports.shift() as FakeTransport),
  });
  const states: ClientState[] = [];
  c.onStateChange(s => states.push(s));
  const events: number[] = [];
  c.onEvent('Python.taskEvent', e => events.push(e.timestamp));
  first.emit('Python.taskEvent', { phase: 'start', name: 'x', taskId: '1', timestamp: 1, rssBytes: 0 });
  const pending = c.python.getObjectCounts({}, { timeoutMs: 0 });
  await new Promise(r => setImmediate(r));
  first.drop();
  await assert.rejects(pending, isCdpError('disconnected', 'Python.getObjectCounts'));
  // a call made while reconnecting waits for the new connection
  const r = await c.python.getObjectCounts({}, { timeoutMs: 2000 });
  assert.equal(r.totalObjects, 7);
  second.emit('Python.taskEvent', { phase: 'end', name: 'x', taskId: '1', timestamp: 2, rssBytes: 0 });
  assert.deepEqual(events, [1, 2]);
  assert.deepEqual(states, ['reconnecting', 'connected']);
  assert.deepEqual(located, ['ws://127.0.0.1:1/t', 'ws://127.0.0.1:2/t']);
  assert.equal(c.endpoint?.webSocketUrl, 'ws://127.0.0.1:2/t');
  c.dispose();
});

test('when reconnecting fails the client closes and says why', async () => {
  const t = new FakeTransport();
  let attempts = 0;
  const c = await CdpClient.connect({
    worker: 'pid 42', reconnectDelaysMs: [1, 1, 1],
    locate: async () => { if (attempts++ > 0) throw new Error('no discovery file for pid 42'); return endpoint; },
    connector: fakeConnector(() => t),
  });
  const closed = new Promise<string>(resolve => c.onStateChange((s, d) => { if (s === 'closed') resolve(d); }));
  t.drop();
  assert.match(await closed, /reconnecting failed: .*no discovery file for pid 42/);
  assert.equal(attempts, 4);
});

test('error responses keep their CDP code; unknown methods get a hint', async () => {
  const t = new FakeTransport().handle('Python.getThreadStacks', () => { throw new CdpProtocolError({ code: -32603, message: 'boom' }); });
  const c = await connected(t);
  await assert.rejects(c.python.getThreadStacks(), (e: unknown) => e instanceof CdpError && e.kind === 'protocol' && e.code === -32603 && /boom/.test(e.message));
  await assert.rejects(c.python.getResourceCounts(), (e: unknown) => e instanceof CdpError && e.code === -32601 && /Worker Lens agent/.test(e.message));
  c.dispose();
});

test('a connection that cannot be opened is one clear error', async () => {
  await assert.rejects(CdpClient.connect({ worker: 'pid 42', locate: async () => endpoint, connector: async () => { throw new Error('ECONNREFUSED 127.0.0.1:1'); } }),
    (e: unknown) => e instanceof CdpError && e.kind === 'connect' && /cannot connect to pid 42 at ws:\/\/127\.0\.0\.1:1\/…: ECONNREFUSED/.test(e.message));
  await assert.rejects(CdpClient.connect({ worker: 'pid 42', locate: async () => endpoint, connector: () => new Promise(() => undefined), connectTimeoutMs: 20 }),
    (e: unknown) => e instanceof CdpError && /no answer to the WebSocket handshake within 20 ms/.test(e.message));
  await assert.rejects(CdpClient.connect({ worker: 'pid 42', locate: () => new Promise(() => undefined), connectTimeoutMs: 20 }),
    (e: unknown) => e instanceof CdpError && /no connection within 20 ms/.test(e.message));
});

test('dispose rejects pending calls with kind closed', async () => {
  const c = await connected(new FakeTransport().hang('HeapProfiler.collectGarbage'));
  const p = c.heapProfiler.collectGarbage({ timeoutMs: 0 });
  await new Promise(r => setImmediate(r));
  c.dispose();
  await assert.rejects(p, isCdpError('closed', 'HeapProfiler.collectGarbage'));
});

test('takeHeapSnapshot streams chunks in order and finishes with the reply', async () => {
  const t = new FakeTransport();
  t.handle('HeapProfiler.takeHeapSnapshot', async () => {
    for (const chunk of ['{"a":', '1}']) t.emit('HeapProfiler.addHeapSnapshotChunk', { chunk });
    t.emit('HeapProfiler.reportHeapSnapshotProgress', { done: 1, total: 1, finished: true });
    return {};
  });
  const c = await connected(t);
  const got: string[] = [];
  const progress: number[] = [];
  await c.heapProfiler.takeHeapSnapshot({ onChunk: ch => got.push(ch), onProgress: d => progress.push(d) });
  assert.equal(got.join(''), '{"a":1}');
  assert.deepEqual(progress, [1]);
  assert.deepEqual(t.sent[0], { method: 'HeapProfiler.takeHeapSnapshot', params: { reportProgress: true } });
  c.dispose();
});

test('takeHeapSnapshot: a consumer error, an idle worker and a drop mid-stream all reject', async () => {
  const t = new FakeTransport();
  t.handle('HeapProfiler.takeHeapSnapshot', () => { t.emit('HeapProfiler.addHeapSnapshotChunk', { chunk: 'x' }); return new Promise(() => undefined); });
  const c = await connected(t);
  await assert.rejects(c.heapProfiler.takeHeapSnapshot({ onChunk: () => { throw new Error('not a heap snapshot'); } }), /not a heap snapshot/);
  await assert.rejects(c.heapProfiler.takeHeapSnapshot({ onChunk: () => undefined, idleTimeoutMs: 20 }), isCdpError('timeout', 'HeapProfiler.takeHeapSnapshot'));
  const p = c.heapProfiler.takeHeapSnapshot({ onChunk: () => undefined });
  await new Promise(r => setImmediate(r));
  t.drop();
  await assert.rejects(p, isCdpError('disconnected', 'HeapProfiler.takeHeapSnapshot'));
});
