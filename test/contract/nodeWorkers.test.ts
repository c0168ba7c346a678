// Node workers first-class, over real parts: a real BullMQ worker (npm bullmq) on a real
// redis-server, started without --inspect. The Workers view's scan lists it (it talks to Redis);
// `workerlens heap --pid` opens its inspector with SIGUSR1 (js-debug's way) on whatever port it
// uses and finds the leaked ProcessedJob objects with their path; a port already taken is named
// before anything is sent, and the worker keeps running.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { scanProcesses } from '../../src/cdp/procScan';
import { buildWorkerTree } from '../../src/model/workerList';
import { AttachError, connectWorker } from '../../src/cdp/workerConnection';
import { inspectorOf } from '../../src/cdp/inspectorActivate';
import { buildCli, freePort, kill, runCli, ROOT } from './heapHelpers';

const WORKER = path.join(ROOT, 'test/fixtures/node/bullmqWorker.js');
let redis: ChildProcess | undefined;
let worker: ChildProcess | undefined;
let queue: Queue | undefined;
let producer: NodeJS.Timeout | undefined;
let redisPort = 0;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-bullmq-'));

function startWorker(extraArgs: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...extraArgs, WORKER], { env: { ...process.env, REDIS_PORT: String(redisPort) }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the BullMQ worker did not get ready: ${out}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => { out += d; if (/ready/.test(out)) { clearTimeout(timer); resolve(child); } });
    child.stderr!.on('data', (d: Buffer) => { out += d; });
    child.on('exit', code => { clearTimeout(timer); reject(new Error(`the BullMQ worker exited (${code}): ${out}`)); });
  });
}

before(async () => {
  await buildCli();
  redisPort = await freePort();
  redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore', detached: true });
  queue = new Queue('emails', { connection: { host: '127.0.0.1', port: redisPort } });
  await queue.waitUntilReady();
  // --inspect-port=0: when activated, its inspector takes any free port (other test runs may hold 9229).
  worker = await startWorker(['--inspect-port=0']);
  let n = 0;
  producer = setInterval(() => { for (let i = 0; i < 20; i++) void queue!.add('welcome', { to: `user-${++n}@example.com`, body: 'x'.repeat(200) }); }, 200);
});

after(async () => {
  if (producer) clearInterval(producer);
  await queue?.close().catch(() => undefined);
  kill(worker);
  kill(redis);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the Workers scan lists the BullMQ worker (no --inspect) as a Node worker that talks to Redis, ready to have its inspector opened', async () => {
  // (this test process is the worker's parent: not ignored here, as the extension host's own children would be)
  const rows = buildWorkerTree(await scanProcesses(), [], { selfUid: process.getuid!(), attachedPids: new Set(), ignorePids: new Set() });
  const row = rows.find(r => r.pid === worker!.pid);
  assert.ok(row, `pid ${worker!.pid} not listed among ${rows.map(r => `${r.pid}:${r.roleLabel}`).join(', ')}`);
  assert.equal(row.kind, 'node');
  assert.equal(row.roleLabel, 'bullmqWorker.js');
  assert.equal(row.state, 'activatable');
  assert.equal(row.inspectorPort, null);
  assert.match(row.note ?? '', new RegExp(`talks to Redis on port ${redisPort}`));
});

test('workerlens heap --pid opens the inspector with SIGUSR1 and finds the leaked ProcessedJob objects and their path', async () => {
  assert.equal(await inspectorOf(worker!.pid!), null, 'no inspector before');
  const r = await runCli(['heap', '--pid', String(worker!.pid), '--samples', '3', '--interval', '1', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { suspects: { type: string; delta: number; paths: { labels: string[]; text: string }[] }[] };
  // each ProcessedJob holds its job's data object, which grows in step (Object): both lead
  const at = out.suspects.findIndex(s => s.type === 'ProcessedJob');
  assert.ok(at >= 0 && at <= 1, JSON.stringify(out.suspects.map(s => [s.type, s.delta])));
  const top = out.suspects[at];
  assert.ok(top.delta > 0);
  assert.ok(top.paths[0].labels.includes('processed'), JSON.stringify(top.paths[0]));
  // the worker kept running and keeps its (now open, any-port) inspector: --no-inject connects without a signal
  assert.equal(worker!.exitCode, null);
  assert.ok(await inspectorOf(worker!.pid!));
  const again = await runCli(['heap', '--pid', String(worker!.pid), '--samples', '1', '--format', 'json', '--no-inject']);
  assert.equal(again.code, 0, again.stderr);
});

test('a taken inspector port is named before any signal is sent; the worker keeps running without an inspector', async () => {
  // A second worker on the default port 9229: hold it (or find who already does).
  let holder: net.Server | undefined = net.createServer();
  await new Promise<void>(resolve => { holder!.once('error', () => { holder = undefined; resolve(); }); holder!.listen(9229, '127.0.0.1', () => resolve()); });
  const plain = await startWorker([]);
  try {
    await assert.rejects(connectWorker({ pid: plain.pid! }, { injection: { allowed: false, refusedHint: '' }, activation: { allowed: true }, reconnect: false }),
      (e: unknown) => e instanceof AttachError && e.code === 'port-in-use' && /port 9229 is taken by .*--inspect-port=0/.test(e.message)
        && (!holder || e.message.includes(`pid ${process.pid}`)));
    await new Promise(r => setTimeout(r, 300));
    assert.equal(plain.exitCode, null, 'not signalled, still running');
  } finally {
    kill(plain);
    holder?.close();
  }
});
