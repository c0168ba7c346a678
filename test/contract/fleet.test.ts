// `workerlens fleet` over the real thing: a real redis-server, real Celery prefork workers with the
// agent on two "hosts" (network namespaces with their own hostname), a garbage replier and two
// workers sharing a node name. The leaking worker ranks first once it has leaked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { buildCli, runCli, ROOT } from './heapHelpers';
import { FleetEnv, PYTHON, whyNoFleet } from './fleetEnv';
import { FleetHelper, runFleet } from '../../src/cdp/fleetHelper';
import { connectRemote, pickRemoteProcess, RemoteAttachError } from '../../src/cdp/remoteWorker';

const why = whyNoFleet();
let env: FleetEnv | undefined;

before(async () => {
  if (why) return;
  await buildCli();
  env = await FleetEnv.start(['--hosts', '2', '--garbage', '--dup']);
});
after(async () => { await env?.stop(); });

interface Out { workers: { node: string; status: string; duplicate: boolean; host: string; growthBytes: number | null; reply: { processes: { role: string }[] } | null }[]; tasks: { name: string; runs: number; perRunBytes: number }[] }

test('lists every worker with its children, flags garbage and duplicates; the leaking one ranks first', { skip: why ?? false }, async () => {
  const e = env as FleetEnv;
  const base = await runCli(['fleet', '--broker', e.info.broker, '--python', PYTHON, '--timeout', '3', '--format', 'json']);
  assert.equal(base.code, 0, base.stderr);
  const first = JSON.parse(base.stdout) as Out;
  const leakyNode = `leaky@${e.info.hosts[0]}`;
  assert.deepEqual(first.workers.filter(w => w.status === 'ok' && !w.duplicate).map(w => w.node).sort(), [leakyNode, `calm10@${e.info.hosts[1]}`].sort());
  for (const w of first.workers.filter(x => x.status === 'ok')) assert.equal(w.reply?.processes.filter(p => p.role === 'child').length, w.node.startsWith('dup') ? 1 : 2);
  assert.deepEqual(first.workers.filter(w => w.duplicate).map(w => w.node), ['dup@local', 'dup@local']);
  assert.equal(first.workers.find(w => w.node === 'garbage@local')?.status, 'unknown');
  assert.equal(first.workers.at(-1)?.node, 'garbage@local');

  e.send("from tasks import leak\nfor i in range(60): leak.apply_async((i, 100000), queue='leaky')");
  let out: Out | undefined;
  for (let i = 0; i < 40; i++) {
    const r = await runCli(['fleet', '--broker', e.info.broker, '--python', PYTHON, '--timeout', '3', '--format', 'json']);
    out = JSON.parse(r.stdout) as Out;
    if ((out.tasks.find(t => t.name === 'tasks.leak')?.runs ?? 0) >= 60) break;
    await new Promise(res => setTimeout(res, 500));
  }
  const o = out as Out;
  assert.equal(o.tasks.find(t => t.name === 'tasks.leak')?.runs, 60);
  assert.equal(o.workers[0].node, leakyNode, `ranked: ${o.workers.map(w => `${w.node} ${w.growthBytes}`).join(', ')}`);
  assert.ok((o.workers[0].growthBytes ?? 0) > 60 * 80_000);
  const text = await runCli(['fleet', '--broker', e.info.broker, '--python', PYTHON, '--timeout', '3']);
  assert.match(text.stdout, new RegExp(`^host ${e.info.hosts[0]}\\n  ${leakyNode}  prefork ×2  RSS [\\d.]+ MB  \\+[\\d.]+ MB since`, 'm'));
  assert.match(text.stdout, /tasks\.leak +\+[\d.]+ KB\/run {2}60 runs on 1 worker/);
  assert.match(text.stdout, /garbage@local: unknown: replied list/);
});

test('the heap of a worker reachable only through a tunnel, with the token from the broker', { skip: why ?? false }, async () => {
  const e = env as FleetEnv;
  const node = `leaky@${e.info.hosts[0]}`;
  const producer = spawn(PYTHON, ['-c', "import time\nfrom tasks import leak\nfor i in range(400):\n    leak.apply_async((i, 20000), queue='leaky'); time.sleep(0.04)"],
    { cwd: path.join(ROOT, 'examples/celery-leaky'), env: { ...process.env, CELERY_BROKER_URL: e.info.broker, PYTHONPATH: path.join(ROOT, 'agent') }, stdio: 'ignore' });
  try {
    await new Promise(r => setTimeout(r, 3000)); // some leak runs first: the CLI picks the child that ran them
    const r = await runCli(['fleet', '--broker', e.info.broker, '--python', PYTHON, '--timeout', '3', '--heap', node, '--tunnel', e.info.tunnelCommand, '--samples', '6', '--interval', '2']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`note: reached ${node} pid \\d+ on ${e.info.hosts[0]}, through \`socat TCP-LISTEN:\\d+`));
    assert.match(r.stdout, /Payload/);
    assert.match(r.stdout, /leaky_storage/);
  } finally { producer.kill(); }
  assert.equal(spawnSync('pgrep', ['-f', `TCP-LISTEN.*ip netns exec ${e.info.hosts[0]}`]).status, 1, 'the tunnel was stopped');
});

test('a tunnel command that fails says so with its stderr; a bad host name never reaches it', { skip: why ?? false }, async () => {
  const e = env as FleetEnv;
  const node = `leaky@${e.info.hosts[0]}`;
  const r = await runCli(['fleet', '--broker', e.info.broker, '--python', PYTHON, '--timeout', '2', '--heap', node, '--tunnel', "sh -c 'echo no route to $0 >&2; exit 3' {host}"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`the tunnel command exited \\(3\\) before 127\\.0\\.0\\.1:\\d+ opened: no route to ${e.info.hosts[0]}`));
  const missing = await runCli(['fleet', '--broker', e.info.broker, '--python', PYTHON, '--timeout', '2', '--heap', 'nobody@nowhere', '--tunnel', 'true']);
  assert.match(missing.stderr, /no worker named nobody@nowhere answered/);
});

test('the long-lived helper (the Fleet view\'s way) answers refresh after refresh, with a broadcast limit', { skip: why ?? false }, async () => {
  const e = env as FleetEnv;
  const helper = new FleetHelper({ broker: e.info.broker, python: PYTHON, timeoutS: 3, agentDir: path.join(ROOT, 'agent') });
  try {
    const full = await helper.refresh();
    assert.equal(full.done?.replies, 5);
    const quick = await helper.refresh({ expect: full.done?.replies });
    assert.equal(quick.workers.filter(w => w.status === 'ok').length, 4);
  } finally { helper.dispose(); }
  const down = new FleetHelper({ broker: 'redis://127.0.0.1:1/0', python: PYTHON, agentDir: path.join(ROOT, 'agent') });
  try {
    await assert.rejects(down.refresh(), /cannot reach the broker/);
    await assert.rejects(down.refresh(), /cannot reach the broker/); // retried, still one clear error
  } finally { down.dispose(); }
});

test('an unreachable broker is one clear error, without the password', { skip: why ?? false }, async () => {
  const r = await runCli(['fleet', '--broker', 'redis://u:hunter2@127.0.0.1:1/0', '--python', PYTHON]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^workerlens fleet: cannot reach the broker redis:\/\/u:\*\*\*@127\.0\.0\.1:1\/0: .*refused/);
  assert.doesNotMatch(r.stderr + r.stdout, /hunter2/);
  const bad = await runCli(['fleet', '--broker', 'localhost:6379']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /is not a broker URL/);
});

test('the Fleet view\'s attach path (src/cdp/remoteWorker): counts through the tunnel, a wrong token refused, nothing left after', { skip: why ?? false }, async () => {
  const e = env as FleetEnv;
  const node = `leaky@${e.info.hosts[0]}`;
  const state = await runFleet({ broker: e.info.broker, python: PYTHON, timeoutS: 3, attach: true });
  const target = pickRemoteProcess(state.workers, node);
  assert.equal(target.host, e.info.hosts[0]);
  const remote = await connectRemote(e.info.tunnelCommand, target);
  const tunnelPid = () => spawnSync('pgrep', ['-f', `TCP-LISTEN:${remote.tunnel.localPort}.*ip netns exec ${e.info.hosts[0]}`]).status;
  try {
    assert.equal(remote.conn.info?.pid, target.pid);
    assert.equal(tunnelPid(), 0, 'the tunnel runs while attached');
    const counts = await remote.conn.heapCounts({ timeoutMs: 20_000 });
    assert.ok(counts.result.counts.some(c => c.type === 'Payload'), 'the leaking child\'s Payload objects, counted remotely');
  } finally { remote.dispose(); }
  for (let i = 0; i < 50 && tunnelPid() === 0; i++) await new Promise(r => setTimeout(r, 100));
  assert.equal(tunnelPid(), 1, 'dispose stopped the tunnel');
  // A stale token: the agent refuses the upgrade, the error says so, the tunnel is stopped.
  await assert.rejects(connectRemote(e.info.tunnelCommand, { ...target, token: 'x'.repeat(32) }),
    (err: unknown) => err instanceof RemoteAttachError && err.code === 'refused' && /refused the connection \(HTTP 403\): its token no longer matches/.test(err.message));
  // A tunnel command that exits: its stderr, and nothing running.
  await assert.rejects(connectRemote("sh -c 'echo wl-contract no route to $0 >&2; exit 3' {host}", target),
    (err: unknown) => err instanceof RemoteAttachError && err.code === 'tunnel' && new RegExp(`exited \\(3\\).*wl-contract no route to ${e.info.hosts[0]}`).test(err.message) && /wl-contract/.test(err.stderr));
  assert.equal(spawnSync('pgrep', ['-f', 'wl-contract no route']).status, 1);
  await new Promise(r => setTimeout(r, 300));
  assert.equal(spawnSync('pgrep', ['-f', `ip netns exec ${e.info.hosts[0]} socat`]).status, 1, 'no tunnel left running');
});
