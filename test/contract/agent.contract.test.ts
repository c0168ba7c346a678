// The Python agent (agent/workerlens_agent) seen from TypeScript over real sockets: chrome-remote-interface
// connects through /json/list and /json/protocol exactly as it does to Chrome, the Python domain matches
// src/protocol/agent.ts, hostile requests are refused while the agent keeps serving, and a heap snapshot
// loads in an independent reader (@vscode/v8-heap-parser) with exact counts and the known retainer path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import CDP from 'chrome-remote-interface';
import { decode_bytes } from '@vscode/v8-heap-parser';
import type { DiscoveryFile, GetObjectCountsResult, ProcessInfo, PythonDomain } from '../../src/protocol/agent';
import { PYTHON_ROOT_GROUPS } from '../../src/protocol/snapshot';

const ROOT = path.resolve(__dirname, '../../..');
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const SCRIPT = path.join(ROOT, 'test/fixtures/agent/leaky_script.py');
const PYTHON_METHODS: (keyof PythonDomain)[] = ['Python.enable', 'Python.disable', 'Python.getObjectCounts',
  'Python.getProcessInfo', 'Python.getThreadStacks', 'Python.getTaskStats', 'Python.getResourceCounts',
  'Python.getMemoryBreakdown', 'Python.trimMemory'];

let child: ChildProcess;
let runtimeDir: string;
let info: DiscoveryFile;
let stdoutBuf = '';

function waitFor<T>(fn: () => T | undefined, what: string, ms = 15_000): Promise<T> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const v = fn();
      if (v !== undefined) resolve(v);
      else if (Date.now() - t0 > ms) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 50);
    };
    tick();
  });
}

/** Sends a command to the fixture script and waits for its "ok". */
async function command(text: string): Promise<void> {
  const before = (stdoutBuf.match(/^ok$/gm) ?? []).length;
  child.stdin?.write(text + '\n');
  await waitFor(() => ((stdoutBuf.match(/^ok$/gm) ?? []).length > before ? true : undefined), `"${text}"`);
}

function rawHttp(headers: Record<string, string>, reqPath = '/json/list'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: info.port, path: reqPath, headers, setHost: !('Host' in headers) }, res => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('upgrade', res => { res.destroy(); resolve(101); });
    req.on('error', reject);
    req.end();
  });
}

/** A raw WebSocket after a valid handshake, to send frames chrome-remote-interface never would. */
function rawSocket(): Promise<{ sock: net.Socket; next: () => Promise<Buffer> }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(info.port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let waiting: ((b: Buffer) => void) | null = null;
    let upgraded = false;
    sock.on('data', d => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buf.subarray(0, end).toString().startsWith('HTTP/1.1 101')) { reject(new Error(buf.toString())); return; }
        upgraded = true;
        buf = buf.subarray(end + 4);
        resolve({ sock, next });
      }
      if (waiting && buf.length >= 2) { const w = waiting; waiting = null; w(buf); }
    });
    sock.on('error', reject);
    function next(): Promise<Buffer> {
      return new Promise(r => { if (buf.length >= 2) r(buf); else waiting = r; });
    }
    sock.write(`GET /${info.token} HTTP/1.1\r\nHost: 127.0.0.1:${info.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  });
}

before(async () => {
  runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-agent-contract-'));
  child = spawn(PYTHON, ['-m', 'workerlens_agent', 'run', SCRIPT], {
    env: { ...process.env, PYTHONPATH: path.join(ROOT, 'agent'), XDG_RUNTIME_DIR: runtimeDir, PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['pipe', 'pipe', 'inherit'], detached: true,
  });
  child.stdout?.on('data', (d: Buffer) => { stdoutBuf += d.toString(); });
  const file = path.join(runtimeDir, 'workerlens', `${child.pid}.json`);
  info = await waitFor(() => { try { return JSON.parse(fs.readFileSync(file, 'utf8')) as DiscoveryFile; } catch { return undefined; } }, 'the discovery file');
});

after(() => {
  try { process.kill(-(child.pid as number), 'SIGKILL'); } catch { /* already gone */ }
  fs.rmSync(runtimeDir, { recursive: true, force: true });
});

test('chrome-remote-interface connects via /json/list and calls the Python domain', async () => {
  const client = await CDP({ host: '127.0.0.1', port: info.port });
  try {
    const raw = client as unknown as { send(method: string, params?: object): Promise<unknown> };
    const pinfo = await raw.send('Python.getProcessInfo') as ProcessInfo;
    assert.equal(pinfo.pid, child.pid);
    assert.equal(pinfo.role, 'process');
    const python = (client as unknown as { Python: Record<string, (p?: object) => Promise<unknown>> }).Python;
    for (const m of PYTHON_METHODS) assert.equal(typeof python[m.split('.')[1]], 'function', `${m} in /json/protocol`);
    const count = (r: GetObjectCountsResult) => r.counts.find(c => c.type === 'Payload' && c.module === '__main__')?.count ?? 0;
    const before = count(await python.getObjectCounts() as GetObjectCountsResult);
    await command('leak 40');
    const after = await python.getObjectCounts({ limit: 100 }) as GetObjectCountsResult;
    assert.equal(count(after) - before, 40);
    assert.ok(after.pauseMs >= 0 && after.totalObjects > 1000);
    await assert.rejects(raw.send('Python.noSuchMethod'), /wasn't found/);
  } finally {
    await client.close();
  }
});

test('wrong token, foreign Host, browser Origin, malformed and oversized frames are refused; the agent keeps serving', async () => {
  const ws = { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' };
  assert.equal(await rawHttp({ ...ws, Host: `127.0.0.1:${info.port}` }, '/0123456789abcdef0123456789abcdef'), 403);
  assert.equal(await rawHttp({ Host: `attacker.example:${info.port}` }), 403);
  assert.equal(await rawHttp({ Origin: 'https://attacker.example' }), 403);
  assert.equal(await rawHttp({ ...ws, Host: `rebind.example:${info.port}` }, `/${info.token}`), 403);
  // unmasked client frame → close 1002
  let c = await rawSocket();
  c.sock.write(Buffer.from([0x81, 0x02, 0x7b, 0x7d]));
  let frame = await c.next();
  assert.deepEqual([frame[0] & 0x0f, frame.readUInt16BE(2)], [0x8, 1002]);
  c.sock.destroy();
  // a frame claiming 4 GiB → close 1009, nothing allocated
  c = await rawSocket();
  const head = Buffer.alloc(14);
  head[0] = 0x81; head[1] = 0xff; head.writeBigUInt64BE(4n << 30n, 2);
  c.sock.write(head);
  frame = await c.next();
  assert.deepEqual([frame[0] & 0x0f, frame.readUInt16BE(2)], [0x8, 1009]);
  c.sock.destroy();
  // malformed JSON → CDP parse error on the same connection
  c = await rawSocket();
  const payload = Buffer.from('{nope');
  const mask = crypto.randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
  c.sock.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
  frame = await c.next();
  const text = frame.subarray(2, 2 + (frame[1] & 0x7f)).toString();
  assert.equal((JSON.parse(text) as { error: { code: number } }).error.code, -32700);
  c.sock.destroy();
  const client = await CDP({ host: '127.0.0.1', port: info.port });
  try {
    const r = await (client as unknown as { send(m: string): Promise<ProcessInfo> }).send('Python.getProcessInfo');
    assert.equal(r.pid, child.pid);
  } finally {
    await client.close();
  }
});

test('a heap snapshot loads in @vscode/v8-heap-parser with exact counts and the known retainer path', async () => {
  await command('leak 5');
  const client = await CDP({ host: '127.0.0.1', port: info.port });
  const chunks: string[] = [];
  let result: { mode?: string } = {};
  try {
    client.on('HeapProfiler.addHeapSnapshotChunk', (p: { chunk: string }) => { chunks.push(p.chunk); });
    result = await (client as unknown as { send(m: string, p: object): Promise<{ mode?: string }> })
      .send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  } finally {
    await client.close();
  }
  assert.equal(result.mode, 'fork');
  const text = chunks.join('');
  const snap = JSON.parse(text) as { snapshot: { node_count: number; edge_count: number; meta: { node_fields: string[]; edge_fields: string[]; node_types: [string[]]; edge_types: [string[]] } }; nodes: number[]; edges: number[]; strings: string[] };
  const nf = snap.snapshot.meta.node_fields.length, ef = snap.snapshot.meta.edge_fields.length;
  assert.equal(snap.nodes.length / nf, snap.snapshot.node_count);
  assert.equal(snap.edges.length / ef, snap.snapshot.edge_count);

  const graph = decode_bytes(Buffer.from(text));
  try {
    // the independent reader sees every node (grouped by class) and every edge (children of each node)
    const groups = graph.get_class_groups(0, 1_000_000, true);
    let nodes = 0;
    let payloadGroup = -1;
    groups.forEach((g, i) => { nodes += g.children_len; if (g.name() === 'Payload') payloadGroup = i; });
    assert.equal(nodes, snap.snapshot.node_count);
    let edges = 0;
    let seen = 0;
    groups.forEach((g, i) => {
      for (const n of graph.class_children(i, 0, g.children_len, 0)) { edges += n.children_len; seen++; n.free(); }
    });
    assert.equal(seen, snap.snapshot.node_count);
    assert.equal(edges, snap.snapshot.edge_count);
    assert.ok(payloadGroup >= 0, 'Payload class group');
    const payloads = graph.class_children(payloadGroup, 0, 1000, 2);
    assert.equal(payloads.length, 45, "40 from the first test + 5");
    const rootChildren = graph.node_children(graph.root_index, 0, 10, 2).map(n => n.name());
    assert.deepEqual([...rootChildren].sort(), [...PYTHON_ROOT_GROUPS].sort());
    // the retainer chain of a Payload, read by the independent parser, goes list → module
    const retainers = graph.get_all_retainers(payloads[0].index, 4);
    const names = new Set(retainers.map(r => r.name()));
    assert.ok(names.has('list') && names.has('module'), JSON.stringify([...names]));
  } finally {
    graph.free();
  }

  // and our own BFS from the root: shortest path to each Payload reads __main__.leaky_storage[i]
  const et = snap.snapshot.meta.edge_types[0];
  const first: number[] = [0];
  for (let i = 0; i < snap.snapshot.node_count; i++) first.push(first[i] + snap.nodes[i * nf + 4]);
  const prev = new Map<number, [number, number]>([[0, [-1, -1]]]);
  const queue = [0];
  while (queue.length) {
    const n = queue.shift() as number;
    for (let e = first[n]; e < first[n + 1]; e++) {
      const to = snap.edges[e * ef + 2] / nf;
      if (et[snap.edges[e * ef]] === 'weak' || prev.has(to)) continue;
      prev.set(to, [n, e]);
      queue.push(to);
    }
  }
  assert.equal(prev.size, snap.snapshot.node_count, 'every node reachable from the root');
  const label = (e: number) => ['element', 'hidden'].includes(et[snap.edges[e * ef]]) ? `[${snap.edges[e * ef + 1]}]` : snap.strings[snap.edges[e * ef + 1]];
  const paths: string[] = [];
  for (let i = 0; i < snap.snapshot.node_count; i++) {
    if (snap.strings[snap.nodes[i * nf + 1]] !== 'Payload' || snap.snapshot.meta.node_types[0][snap.nodes[i * nf]] !== 'object') continue;
    const labels: string[] = [];
    for (let n = i; n !== 0;) { const [p, e] = prev.get(n) as [number, number]; labels.unshift(label(e)); n = p; }
    paths.push(labels.slice(1).join('.').replace(/\.\[/g, '['));
  }
  const leaked = paths.filter(p => p.startsWith('__main__.leaky_storage['));
  assert.equal(leaked.length, paths.length, JSON.stringify(paths));
  assert.ok(leaked.includes('__main__.leaky_storage[0]'));
});
