// `workerlens reports` over the reports a real Celery prefork worker (real redis-server) leaves:
// a child recycled at --max-memory-per-child, a child killed with kill -9, a truncated file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FlightReport } from '../../src/protocol/reports';

const ROOT = path.resolve(__dirname, '../../..');
const PYTHON = '/usr/bin/python3';
const EXAMPLE = path.join(ROOT, 'examples', 'celery-leaky');
const CLI = path.join(ROOT, 'out', 'src', 'cli', 'main.js');
const haveCelery = fs.existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import celery, redis']).status === 0 &&
  spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;

let dir: string;
let reportsDir: string;
const procs: ChildProcess[] = [];
let worker: ChildProcess;
let env: NodeJS.ProcessEnv;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

async function waitFor<T>(fn: () => T | undefined, what: string, ms = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 100));
  }
}

function reports(): FlightReport[] {
  const out: FlightReport[] = [];
  let names: string[] = [];
  try { names = fs.readdirSync(reportsDir); } catch { return out; }
  for (const n of names.filter(x => /^\d+-\d+\.json$/.test(x))) {
    try { out.push(JSON.parse(fs.readFileSync(path.join(reportsDir, n), 'utf8')) as FlightReport); } catch { /* mid-rename */ }
  }
  return out;
}

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'reports', '--dir', reportsDir, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  if (!haveCelery) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-reports-'));
  fs.chmodSync(dir, 0o700);
  reportsDir = path.join(dir, 'workerlens', 'reports');
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  procs.push(redis);
  env = { ...process.env, XDG_RUNTIME_DIR: dir, PYTHONPATH: path.join(ROOT, 'agent'), PYTHONDONTWRITEBYTECODE: '1',
    CELERY_BROKER_URL: `redis://127.0.0.1:${port}/0`, WORKERLENS_RECORDER_INTERVAL: '0.5' };
  delete env.WORKERLENS;
  await new Promise(r => setTimeout(r, 300));
  // one child; recycled once its RSS passes 60 MB (a fresh child is ~40 MB; each task keeps 2 MB)
  worker = spawn(PYTHON, ['-m', 'celery', '-A', 'tasks', 'worker', '-l', 'warning', '--pool', 'prefork', '-c', '1',
    '--without-heartbeat', '--without-mingle', '--without-gossip', '-n', `wl-rep-${port}@localhost`, '-Q', 'rep',
    '--workerlens', '--max-memory-per-child', '60000'], { cwd: EXAMPLE, env, stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'worker.log'), 'w')], detached: true });
  procs.push(worker);
});

after(() => {
  for (const p of procs.reverse()) {
    try { if (p === worker) process.kill(-p.pid!, 'SIGKILL'); else p.kill('SIGKILL'); } catch { /* gone */ }
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('a recycled and a killed pool child each leave a report that `workerlens reports` shows', { skip: !haveCelery && 'needs celery + redis-server' }, async () => {
  const produce = spawnSync(PYTHON, ['-c', "from tasks import leak\nfor i in range(40): leak.apply_async((i, 2000000), queue='rep')"],
    { cwd: EXAMPLE, env, encoding: 'utf8' });
  assert.equal(produce.status, 0, produce.stderr);
  const recycled = await waitFor(() => reports().find(r => r.exit?.by === 'main process' && r.exit.reason === 'max_memory_per_child'),
    'a child recycled at max_memory_per_child');
  assert.equal(recycled.ppid, worker.pid);
  assert.match(recycled.exit!.text, /over max_memory_per_child=60000 KiB/);
  assert.ok(recycled.tasks.recent.some(t => t.name === 'tasks.leak' && (t.memDeltaBytes ?? 0) > 1_000_000), 'last tasks with their RSS change');

  const victim = await waitFor(() => reports().find(r => r.role === 'child' && !r.exit && r.pid !== recycled.pid &&
    r.tasks.completed > 0 && r.objects !== null), 'a live child that has run tasks');
  process.kill(victim.pid, 'SIGKILL');
  const killed = await waitFor(() => reports().find(r => r.pid === victim.pid && r.exit?.reason === 'sigkill'), 'the kill recorded')
    .catch(e => { throw new Error(`${(e as Error).message}; worker log: ${fs.readFileSync(path.join(dir, 'worker.log'), 'utf8').slice(-3000)}; report: ${JSON.stringify(reports().find(r => r.pid === victim.pid)?.exit)}`); });
  assert.match(killed.exit!.text, /signal 9 \(SIGKILL\): probably the OOM killer/);

  fs.writeFileSync(path.join(reportsDir, '999999-1.json'), '{"format": "workerlens-report", "vers');

  const list = cli();
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`${recycled.pid}\\s+ForkPoolWorker-\\d+ \\(child 0\\).*recycled: RSS \\d+ KiB over max_memory_per_child=60000 KiB`));
  assert.match(list.stdout, new RegExp(`${victim.pid}\\s+ForkPoolWorker-\\d+.*killed by signal 9 \\(SIGKILL\\): probably the OOM killer`));
  assert.match(list.stdout, new RegExp(`${worker.pid}\\s+MainProcess .* running`));
  assert.match(list.stderr, /skipped 999999-1\.json: truncated or not JSON/);

  const one = cli('--pid', String(victim.pid));
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /Status: killed by signal 9/);
  assert.match(one.stdout, /recorded by the main process at .*exit status -9/);
  assert.match(one.stdout, /tasks\.leak: \d+ succeeded, 0 failed; RSS change per run \+\d/);
  assert.match(one.stdout, /Threads at the last refresh \(\d+\):\n {2}MainThread\n {4}at /);
  assert.match(one.stdout, /Python types that grew most since the first count/);

  const json = cli('--exited', '--format', 'json');
  assert.equal(json.code, 0, json.stderr);
  const doc = JSON.parse(json.stdout) as { reports: (FlightReport & { status: string })[]; notes: string[] };
  const byPid = new Map(doc.reports.map(r => [r.pid, r]));
  assert.equal(byPid.get(victim.pid)?.status, 'killed');
  assert.equal(byPid.get(recycled.pid)?.status, 'exited');
  assert.ok(!byPid.has(worker.pid!), '--exited leaves the running main out');
  assert.equal(doc.notes.length, 1);

  const missing = cli('--pid', '1');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no report for pid 1/);
  assert.equal(cli('--pid', 'x').code, 2);
});
