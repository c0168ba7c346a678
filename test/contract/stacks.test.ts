// `workerlens stacks --pid MAIN` against a real Celery prefork worker (real redis-server, Debian's
// /usr/bin/python3 -m celery, --workerlens): the main process and both pool children; the child
// stuck in a catastrophic regex (GIL held in C) cannot answer through its agent, so its stacks are
// read from outside, and the output says so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { listDiscoveryFiles } from '../../src/cdp/discovery';
import { buildCli, freePort, kill, runCli, ROOT } from './heapHelpers';
import type { ProcessStacks } from '../../src/cdp/threadStacks';

const PYTHON = '/usr/bin/python3';
const FIXTURES = path.join(ROOT, 'test/fixtures/agent');
const have = fs.existsSync(PYTHON) && spawnSync('which', ['redis-server']).status === 0 && spawnSync(PYTHON, ['-c', 'import celery, redis']).status === 0;
const procs: ChildProcess[] = [];

async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, ms = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 200));
  }
}

function redisUp(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const s = net.connect(port, '127.0.0.1', () => s.write('PING\r\n'));
    s.on('data', d => { s.destroy(); resolve(d.toString().startsWith('+PONG')); });
    s.on('error', () => resolve(false));
  });
}

let brokerUrl = '';
let main: ChildProcess;

before(async () => {
  if (!have) return;
  await buildCli();
  const port = await freePort();
  procs.push(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore', detached: true }));
  await waitFor(async () => ((await redisUp(port)) ? true : undefined), 'redis-server');
  brokerUrl = `redis://127.0.0.1:${port}/0`;
  const env = { ...process.env, CELERY_BROKER_URL: brokerUrl, PYTHONPATH: `${path.join(ROOT, 'agent')}:${FIXTURES}`, PYTHONDONTWRITEBYTECODE: '1' };
  main = spawn(PYTHON, ['-m', 'celery', '-A', 'hung_tasks', 'worker', '-l', 'warning', '--without-heartbeat', '--without-mingle', '--without-gossip',
    '-n', `wl-stacks-${port}@localhost`, '--pool', 'prefork', '-c', '2', '-Q', 'stacks', '--workerlens'], { cwd: FIXTURES, env, stdio: 'ignore', detached: true });
  procs.push(main);
});
after(() => { for (const p of procs) kill(p); });

test('stacks --pid MAIN: main and both children; the child busy in C is read from outside', { skip: !have && 'needs /usr/bin/python3 with celery, redis-server' }, async () => {
  const pid = main.pid as number;
  await waitFor(async () => ((await listDiscoveryFiles()).filter(d => d.pid === pid || d.ppid === pid).length === 3 ? true : undefined), 'three agents');
  const env = { ...process.env, CELERY_BROKER_URL: brokerUrl, PYTHONPATH: FIXTURES };
  assert.equal(spawnSync(PYTHON, ['-c', "from hung_tasks import parse_header; parse_header.apply_async((64,), queue='stacks')"], { cwd: FIXTURES, env }).status, 0);
  await new Promise(r => setTimeout(r, 3000));
  const r = await runCli(['stacks', '--pid', String(pid), '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const list = (JSON.parse(r.stdout) as { processes: ProcessStacks[] }).processes;
  assert.equal(list.length, 3, JSON.stringify(list.map(p => [p.pid, p.source, p.error])));
  assert.equal(list[0].pid, pid);
  assert.equal(list[0].source, 'agent');
  const stuck = list.filter(p => p.result?.threads.some(t => t.frames.some(f => f.functionName === 'parse_header')));
  assert.equal(stuck.length, 1, JSON.stringify(list.map(p => [p.pid, p.source, p.error, p.agentError])));
  assert.equal(stuck[0].source, 'outside');
  assert.match(stuck[0].agentError ?? '', /timed out|did not answer|timeout/i);
  assert.match(stuck[0].result?.how ?? '', /not stopped/);
  const idle = list.find(p => p !== stuck[0] && p.pid !== pid);
  assert.equal(idle?.source, 'agent');
  const text = await runCli(['stacks', '--pid', String(stuck[0].pid), '--via', 'outside']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /read from outside \(\/proc\/PID\/mem, worker not stopped\)/);
  assert.match(text.stdout, /parse_header \(.*hung_tasks\.py:\d+\)/);
});

test('stacks --pid of no process: one line, exit 1', async () => {
  if (!have) await buildCli();
  const r = await runCli(['stacks', '--pid', '999999999']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), 'workerlens stacks: no process with pid 999999999');
});
