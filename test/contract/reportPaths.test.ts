// `workerlens reports` shows the retainer path of a real leak: a real Celery prefork worker (real
// redis-server) runs the example's leak task (tasks.Payload kept in the module list
// tasks.leaky_storage); its pool child's flight-recorder report names that global, and the CLI
// prints it with how it was obtained, in text and JSON.
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

function childReport(): FlightReport | undefined {
  let names: string[] = [];
  try { names = fs.readdirSync(reportsDir); } catch { return undefined; }
  for (const n of names.filter(x => /^\d+-\d+\.json$/.test(x))) {
    try {
      const r = JSON.parse(fs.readFileSync(path.join(reportsDir, n), 'utf8')) as FlightReport;
      if (r.ppid === worker.pid && r.role === 'child') return r;
    } catch { /* mid-rename */ }
  }
  return undefined;
}

before(async () => {
  if (!haveCelery) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-reppaths-'));
  fs.chmodSync(dir, 0o700);
  reportsDir = path.join(dir, 'workerlens', 'reports');
  const port = await freePort();
  procs.push(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }));
  env = { ...process.env, XDG_RUNTIME_DIR: dir, PYTHONPATH: path.join(ROOT, 'agent'), PYTHONDONTWRITEBYTECODE: '1',
    CELERY_BROKER_URL: `redis://127.0.0.1:${port}/0`, WORKERLENS_RECORDER_INTERVAL: '0.5' };
  delete env.WORKERLENS;
  await new Promise(r => setTimeout(r, 300));
  worker = spawn(PYTHON, ['-m', 'celery', '-A', 'tasks', 'worker', '-l', 'warning', '--pool', 'prefork', '-c', '1',
    '--without-heartbeat', '--without-mingle', '--without-gossip', '-n', `wl-paths-${port}@localhost`, '-Q', 'paths', '--workerlens'],
  { cwd: EXAMPLE, env, stdio: 'ignore', detached: true });
  procs.push(worker);
});

after(() => {
  for (const p of procs.reverse()) {
    try { if (p === worker) process.kill(-p.pid!, 'SIGKILL'); else p.kill('SIGKILL'); } catch { /* gone */ }
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('the report of a leaking pool child names tasks.leaky_storage, and the CLI prints it', { skip: !haveCelery && 'needs celery + redis-server' }, async () => {
  const t0 = Date.now();
  while (!childReport()?.objects && Date.now() - t0 < 60_000) await new Promise(r => setTimeout(r, 200));
  assert.ok(childReport()?.objects, 'the pool child counted once');
  // a steady leak over several counts (the recorder spaces them to stay under 0.5 % of wall time)
  const producer = spawn(PYTHON, ['-c', "import time\nfrom tasks import leak\nfor i in range(20000):\n    leak.apply_async((i, 100), queue='paths')\n    time.sleep(0.01)"],
    { cwd: EXAMPLE, env, stdio: 'ignore' });
  procs.push(producer);
  let rep: FlightReport | undefined;
  while (Date.now() - t0 < 120_000) {
    rep = childReport();
    if (rep?.objects?.growing.find(g => g.type === 'tasks.Payload')?.path) break;
    await new Promise(r => setTimeout(r, 250));
  }
  producer.kill('SIGKILL');
  const payload = rep?.objects?.growing.find(g => g.type === 'tasks.Payload');
  assert.ok(payload?.path, `no path for tasks.Payload: ${JSON.stringify(rep?.objects)}`);
  assert.deepEqual(payload.path.slice(0, 2), ['tasks', 'leaky_storage']);

  const one = spawnSync(process.execPath, [CLI, 'reports', '--dir', reportsDir, '--pid', String(rep!.pid)], { encoding: 'utf8' });
  assert.equal(one.status, 0, one.stderr);
  assert.match(one.stdout, /\+[\d,]+ {2}tasks\.Payload \([\d,]+ live\)\n {14}held by tasks\.leaky_storage\[\d+\]\n {14}\(one path from \d+ sampled instances? \(the newest survivors\), by gc referrers; shared by \d+ of them/);
  assert.match(one.stdout, /retainer paths: last searched .*, took [\d.]+ ms \(\d+ types, \d+ sampled instances, \d+ gc\.get_referrers hops\)/);

  const json = spawnSync(process.execPath, [CLI, 'reports', '--dir', reportsDir, '--pid', String(rep!.pid), '--format', 'json'], { encoding: 'utf8' });
  assert.equal(json.status, 0, json.stderr);
  const doc = JSON.parse(json.stdout) as { reports: FlightReport[] };
  const g = doc.reports[0].objects!.growing.find(x => x.type === 'tasks.Payload')!;
  assert.match(g.pathText!, /^tasks\.leaky_storage\[\d+\]$/);
  assert.match(g.pathHow!, /by gc referrers/);
  assert.ok(doc.reports[0].objects!.paths!.costMs > 0);
});
