// `workerlens heap --pid` over real Python workers whose memory grows where gc.get_objects() cannot
// see: a str cache, a bytes list, a thread-local list, ctypes malloc, malloc fragmentation from
// threads, a quiet worker — and a real Celery prefork worker on a real redis-server leaking only in
// its pool children, found from the main pid. Each asserts the verdict and the suspect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, ChildProcess, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { readDiscoveryFile, listDiscoveryFiles } from '../../src/cdp/discovery';
import { buildCli, freePort, kill, runCli, ROOT, startInspectee } from './heapHelpers';

const AGENT = path.join(ROOT, 'agent');
const FIXTURES = path.join(ROOT, 'test/fixtures/agent');
const PYTHON = '/usr/bin/python3';
const LEAKER = path.join(FIXTURES, 'memory_leaker.py');
const hasAgent = fs.existsSync(PYTHON) && fs.existsSync(path.join(AGENT, 'workerlens_agent/memorybreakdown.py'));
const hasCelery = hasAgent && spawnSync(PYTHON, ['-c', 'import celery, redis'], { stdio: 'ignore' }).status === 0
  && spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status === 0;
const children: ChildProcess[] = [];

interface Part { key: string; bytes: number | null; how: string }
interface Json {
  verdict: { kind: string; headline: string; next: string; details: string[] };
  memory: { rssBytes: number; parts: Part[] } | null;
  containers: { name: string; type: string; lengthDelta: number; bytesDelta: number; tracked: boolean; itemTypes: string[] }[];
  trim: { trimmed: boolean; releasedBytes: number; rssBeforeBytes: number; rssAfterBytes: number } | null;
  suspects: { type: string }[];
  summary?: string | null;
  children?: (Omit<Json, 'children'> & { label: string; pid: number; role: string })[];
}

function start(mode: string): ChildProcess {
  const child = spawn(PYTHON, ['-m', 'workerlens_agent', 'run', LEAKER, mode], {
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONPATH: AGENT }, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  children.push(child);
  return child;
}

async function ready(child: ChildProcess, ms = 120_000): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no "ready" from pid ${child.pid}`)), ms);
    child.stdout?.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('ready')) { clearTimeout(timer); resolve(); } });
    child.on('exit', code => { clearTimeout(timer); reject(new Error(`exited ${code}`)); });
  });
  for (let i = 0; i < 200; i++) {
    if (await readDiscoveryFile(child.pid as number)) return;
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`no discovery file for pid ${child.pid}`);
}

async function heap(pid: number, ...extra: string[]): Promise<Json> {
  const r = await runCli(['heap', '--pid', String(pid), '--samples', '4', '--interval', '1', '--format', 'json', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Json;
}

const part = (j: Json, key: string) => j.memory?.parts.find(p => p.key === key);
const MB = 1024 * 1024;

before(async () => { if (hasAgent) await buildCli(); });
after(() => { for (const c of children) kill(c); });

const skip = !hasAgent && 'agent with memorybreakdown.py or /usr/bin/python3 not present';

test('a growing dict of rendered strings (not gc-tracked) is the suspect, named __main__._seen', { skip }, async () => {
  const c = start('strcache');
  await ready(c);
  const j = await heap(c.pid as number);
  assert.equal(j.verdict.kind, 'container', JSON.stringify(j.verdict));
  assert.equal(j.containers[0].name, '__main__._seen');
  assert.equal(j.containers[0].tracked, false);
  assert.deepEqual(j.containers[0].itemTypes.slice(0, 1), ['str']);
  assert.match(j.verdict.headline, /^__main__\._seen \(dict of str\) grows by [\d,]+ items\/s/);
  assert.ok(part(j, 'pythonUntracked')?.how === 'estimated');
  kill(c);
});

test('a list of bytes and a list in a threading.local are found with their paths', { skip }, async () => {
  const b = start('bytes');
  const t = start('tls');
  await Promise.all([ready(b), ready(t)]);
  const [jb, jt] = await Promise.all([heap(b.pid as number), heap(t.pid as number)]);
  assert.equal(jb.verdict.kind, 'container', JSON.stringify(jb.verdict));
  assert.equal(jb.containers[0].name, '__main__.payloads');
  assert.deepEqual(jb.containers[0].itemTypes.slice(0, 1), ['bytes']);
  assert.equal(jt.verdict.kind, 'container', JSON.stringify(jt.verdict));
  assert.equal(jt.containers[0].name, '__main__.tls.<per-thread>.items');
  kill(b); kill(t);
});

test('ctypes malloc that no Python object explains: native growth', { skip }, async () => {
  const c = start('cmalloc');
  await ready(c);
  const j = await heap(c.pid as number);
  assert.equal(j.verdict.kind, 'native', JSON.stringify(j.verdict));
  assert.match(j.verdict.headline, /^Native memory grows [\d.]+ MB\/s and no Python type explains it: a C extension or ctypes allocation\.$/);
  kill(c);
});

test('fragmentation from 4 threads: free memory malloc holds is the verdict, --trim gives it back', { skip }, async () => {
  const c = start('frag');
  await ready(c, 300_000);
  const j = await heap(c.pid as number, '--trim');
  assert.equal(j.verdict.kind, 'fragmentation', JSON.stringify(j.verdict));
  assert.match(j.verdict.headline, /^[\d.]+ MB of [\d.]+ MB is free memory held by malloc \(fragmentation, \d+ arenas\); nothing grows\.$/);
  assert.match(j.verdict.next, /MALLOC_ARENA_MAX=2 .*jemalloc.*Trim now/);
  const free = part(j, 'mallocFree');
  assert.equal(free?.how, 'exact');
  assert.ok((free?.bytes ?? 0) > 0.5 * (j.memory?.rssBytes ?? Infinity), JSON.stringify(j.memory?.parts));
  assert.ok(j.trim && j.trim.releasedBytes > 100 * MB, JSON.stringify(j.trim));
  assert.ok(j.verdict.details.some(d => /^Trim now \(malloc_trim\) returned [\d.]+ MB/.test(d)), JSON.stringify(j.verdict.details));
  kill(c);
});

test('a quiet worker: nothing grows, no suspects (the agent\'s own objects are not growth)', { skip }, async () => {
  const c = start('quiet');
  await ready(c);
  const j = await heap(c.pid as number);
  assert.equal(j.verdict.kind, 'quiet', JSON.stringify(j));
  assert.deepEqual(j.suspects, []);
  assert.deepEqual(j.containers, []);
  assert.match(j.verdict.headline, /^Nothing grows: RSS [\d.]+ MB steady over \d+ s \(4 samples\)\.$/);
  kill(c);
});

async function startRedis(): Promise<{ proc: ChildProcess; url: string }> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore', detached: true });
  children.push(proc);
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>(resolve => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return { proc, url: `redis://127.0.0.1:${port}/0` };
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error('redis-server did not start');
}

test('Celery prefork leaking only in its pool children: heap --pid MAIN names the children, the main is flat', { skip: !hasCelery && 'needs /usr/bin/python3 with celery+redis and redis-server' }, async () => {
  const redis = await startRedis();
  const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONPATH: `${AGENT}:${FIXTURES}`, CELERY_BROKER_URL: redis.url };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-celery-'));
  const worker = spawn(PYTHON, ['-m', 'celery', '-A', 'memory_celery_app', 'worker', '--pool', 'prefork', '-c', '2', '--workerlens', '-l', 'warning',
    '--without-heartbeat', '--without-mingle', '--without-gossip', '-n', `wl-mem-${process.pid}@localhost`], { cwd: tmp, env, stdio: 'ignore', detached: true });
  children.push(worker);
  try {
    const main = worker.pid as number;
    for (let i = 0; i < 300; i++) {
      const files = (await listDiscoveryFiles()).filter(d => d.pid === main || d.ppid === main);
      if (files.length === 3) break;
      await new Promise(r => setTimeout(r, 100));
    }
    const producer = spawn(PYTHON, [path.join(FIXTURES, 'memory_celery_app.py'), '400', '60'], { cwd: tmp, env, stdio: 'ignore', detached: true });
    children.push(producer);
    await new Promise(r => setTimeout(r, 1500));
    const j = await heap(main);
    kill(producer);
    assert.equal(j.children?.length, 2, JSON.stringify(j.children?.map(c => c.label)));
    assert.notEqual(j.verdict.kind, 'container', `the main runs no task: ${JSON.stringify(j.verdict)}`);
    assert.ok(['quiet', 'one-sample', 'fragmentation'].includes(j.verdict.kind), JSON.stringify(j.verdict));
    // prefork hands tiny tasks to whichever child is free: one child may get (nearly) all of them
    const leaking = (j.children ?? []).filter(c => c.verdict.kind === 'container');
    assert.ok(leaking.length >= 1, JSON.stringify(j.children?.map(c => [c.label, c.verdict])));
    for (const c of j.children ?? []) {
      assert.match(c.label, /ForkPoolWorker-\d/);
      assert.ok(['container', 'quiet'].includes(c.verdict.kind), `${c.label}: ${JSON.stringify(c.verdict)}`);
    }
    for (const c of leaking) assert.equal(c.containers[0].name, 'memory_celery_app._rendered');
    assert.match(j.summary ?? '', /^The leak is in (every pool child|pool child(ren)?) .*ForkPoolWorker-\d.*memory_celery_app\._rendered .* The main process is flat/);
    for (const c of leaking) assert.ok((j.summary ?? '').includes(c.label), `${j.summary} names ${c.label}`);
    const text = await runCli(['heap', '--pid', String(main), '--samples', '2', '--interval', '1']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /\nPool child pid \d+ \(ForkPoolWorker-\d\):\n {2}Verdict: /);
  } finally {
    try { process.kill(worker.pid as number, 'SIGTERM'); } catch { /* gone */ }
    await new Promise(r => setTimeout(r, 1500));
    kill(worker);
    kill(redis.proc);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a Node worker gets the same breakdown from process.memoryUsage() and a verdict', async () => {
  const target = await startInspectee(path.join(ROOT, 'test/fixtures/heap/leakyMap.js'));
  children.push(target.child);
  try {
    const r = await runCli(['heap', '--connect', target.hostPort, '--samples', '3', '--interval', '1', '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as Json;
    assert.deepEqual(j.memory?.parts.map(p => p.key), ['jsHeapUsed', 'jsHeapFree', 'external', 'arrayBuffers', 'nativeOther']);
    assert.equal(part(j, 'jsHeapUsed')?.how, 'exact');
    const sum = (j.memory?.parts ?? []).reduce((a, p) => a + (p.bytes ?? 0), 0);
    if ((part(j, 'nativeOther')?.bytes ?? 0) > 0) assert.equal(sum, j.memory?.rssBytes);
    assert.equal(j.verdict.kind, 'objects', JSON.stringify(j.verdict));
    assert.match(j.verdict.headline, /^Payload objects grow by [\d,]+\/s/);
  } finally {
    kill(target.child);
  }
});
