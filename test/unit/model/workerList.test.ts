import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { activationPort, buildWorkerTree, isCeleryWorker, nodeInspectorPort, processKind, ProcessEntry, pythonProcessRows, sigusr1Disabled } from '../../../src/model/workerList';
import type { DiscoveryFile } from '../../../src/protocol/agent';

const celeryArgv = ['/usr/bin/python3', '-m', 'celery', '-A', 'tasks', 'worker', '--pool', 'prefork', '-c', '2'];
const proc = (pid: number, ppid: number, argv: string[], uid = 1000): ProcessEntry =>
  ({ pid, ppid, uid, comm: argv[0].split('/').pop()!.slice(0, 15), argv, rssBytes: pid * 1024, exe: null });
const ctx = { selfUid: 1000, attachedPids: new Set<number>(), ignorePids: new Set<number>() };

test('celery worker detection: python -m celery, celery script, setproctitle; not celery beat', () => {
  assert.equal(isCeleryWorker(proc(1, 0, celeryArgv)), true);
  assert.equal(isCeleryWorker(proc(1, 0, ['/usr/bin/python3', '/usr/bin/celery', '-A', 'x', 'worker'])), true);
  assert.equal(isCeleryWorker(proc(1, 0, ['[celeryd: celery@host:MainProcess] -active- (worker)'])), true);
  assert.equal(isCeleryWorker(proc(1, 0, ['/usr/bin/python3', '-m', 'celery', '-A', 'x', 'beat'])), false);
  assert.equal(isCeleryWorker(proc(1, 0, ['/usr/bin/python3', 'worker.py'])), false);
});

test('children sit under their main by parent pid; unrelated processes are left out', () => {
  const rows = buildWorkerTree([proc(100, 1, celeryArgv), proc(102, 100, celeryArgv), proc(101, 100, celeryArgv), proc(200, 1, ['/bin/bash'])], [], ctx);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].role, 'main');
  assert.equal(rows[0].pool, 'prefork');
  assert.deepEqual(rows[0].children.map(c => [c.pid, c.roleLabel, c.state]), [[101, 'ForkPoolWorker-1', 'injectable'], [102, 'ForkPoolWorker-2', 'injectable']]);
});

test('discovery files give role names and the agent state; other users are not permitted', () => {
  const d: DiscoveryFile = { pid: 102, ppid: 100, host: '127.0.0.1', port: 4000, token: 't', role: 'child', processName: 'ForkPoolWorker-7',
    workerName: 'celery@h', pool: 'prefork', pythonVersion: '3.11.2', executable: '/usr/bin/python3', agentVersion: '0.1.0', startedAt: 0 };
  const rows = buildWorkerTree([proc(100, 1, celeryArgv, 0), proc(102, 100, celeryArgv)], [d], { ...ctx, selfUid: 1000 });
  assert.equal(rows[0].state, 'not-permitted');
  assert.equal(rows[0].children[0].roleLabel, 'ForkPoolWorker-7');
  assert.equal(rows[0].children[0].state, 'agent');
});

test('node inspector port from the command line', () => {
  assert.equal(nodeInspectorPort(proc(1, 0, ['node', '--inspect=127.0.0.1:9333', 'w.js'])), 9333);
  assert.equal(nodeInspectorPort(proc(1, 0, ['/usr/bin/node', '--inspect', 'w.js'])), 9229);
  assert.equal(nodeInspectorPort(proc(1, 0, ['node', 'w.js'])), null);
  const rows = buildWorkerTree([proc(5, 1, ['node', '--inspect=9333', 'w.js'])], [], ctx);
  assert.deepEqual([rows[0].kind, rows[0].inspectorPort, rows[0].roleLabel], ['node', 9333, 'w.js']);
});

test('processKind: Python (by argv, exe or setproctitle title), Node (by argv or exe), or neither', () => {
  assert.equal(processKind(proc(1, 0, ['/usr/bin/python3.11', 'x.py'])), 'python');
  assert.equal(processKind(proc(1, 0, ['[celeryd: celery@host:MainProcess] -active- (worker)'])), 'python');
  assert.equal(processKind({ ...proc(1, 0, ['my-daemon']), exe: '/usr/bin/python3.11' }), 'python');
  assert.equal(processKind(proc(1, 0, ['/usr/local/bin/node', 'worker.js'])), 'node');
  assert.equal(processKind({ ...proc(1, 0, ['bullmq-worker']), exe: '/opt/node/bin/node' }), 'node');
  assert.equal(processKind(proc(1, 0, ['/bin/bash'])), null);
});

test('pythonProcessRows: every Python process, tree rows reused, the rest injectable plain processes', () => {
  const procs = [proc(100, 1, celeryArgv), proc(300, 1, ['/usr/bin/python3', '-u', '/srv/app/daemon.py']), proc(400, 1, ['node', 'w.js']), proc(500, 1, ['python3', 'x.py'], 0)];
  const tree = buildWorkerTree(procs, [], ctx);
  const rows = pythonProcessRows(procs, tree, { ...ctx, ignorePids: new Set([500]) });
  assert.deepEqual(rows.map(r => [r.pid, r.kind, r.roleLabel, r.state]), [[100, 'celery', 'main', 'injectable'], [300, 'python', 'daemon.py', 'injectable']]);
  assert.equal(rows[0], tree[0]);
  assert.equal(pythonProcessRows([proc(500, 1, ['python3', 'x.py'], 0)], [], ctx)[0].state, 'not-permitted');
});

test('Node workers are listed without an inspector when something says they are workers; editor tooling never', () => {
  const node = (pid: number, argv: string[], extra: Partial<ProcessEntry> = {}): ProcessEntry => ({ ...proc(pid, 1, argv), exe: '/usr/bin/node', ...extra });
  const redis: ProcessEntry = { ...proc(50, 1, ['/usr/bin/redis-server', '127.0.0.1:7001']), comm: 'redis-server', sockets: [{ localPort: 7001, remotePort: 0, listening: true, established: false }] };
  const procs = [
    redis,
    node(10, ['node', '/srv/app/index.js'], { sockets: [{ localPort: 40000, remotePort: 7001, listening: false, established: true }] }),
    node(11, ['node', 'dist/email-worker.js']),
    node(12, ['node', '--inspect-port=0', 'server.js']),
    node(13, ['node', '/root/.cache/code-server/lib/vscode/out/bootstrap-fork', '--type=extensionHost']),
    node(14, ['node', '/srv/app/node_modules/.bin/tsc', '-w']),
    node(15, ['node', 'queue-consumer.js'], { uid: 0 }),
    node(16, ['node', '--inspect=9400', 'api.js']),
    node(17, ['node', '/ext/dist/server.js', '--node-ipc', '--clientProcessId=999']),   // an extension's language server
    { ...node(18, ['node', 'jobs.js']), exe: null },  // exe unreadable: never signalled
  ];
  const rows = buildWorkerTree(procs, [], { ...ctx, ignorePids: new Set([999]) });
  assert.deepEqual(rows.map(r => [r.pid, r.roleLabel, r.state]), [
    [10, 'index.js', 'activatable'], [11, 'email-worker.js', 'activatable'], [15, 'queue-consumer.js', 'not-permitted'], [16, 'api.js', 'inspector'], [18, 'jobs.js', 'not-permitted'],
  ]);
  assert.match(rows[0].note!, /talks to Redis on port 7001/);
  assert.match(rows[3].note!, /inspector on port 9400/);
});

test('activation port: --inspect-port / --debug-port on the command line or in NODE_OPTIONS, else 9229; --disable-sigusr1', () => {
  assert.equal(activationPort(['node', 'w.js']), 9229);
  assert.equal(activationPort(['node', '--inspect-port=0', 'w.js']), 0);
  assert.equal(activationPort(['node', '--inspect-port', '127.0.0.1:9400', 'w.js']), 9400);
  assert.equal(activationPort(['node', 'w.js'], '--max-old-space-size=100 --debug-port=9333'), 9333);
  assert.equal(sigusr1Disabled(['node', '--disable-sigusr1', 'w.js']), true);
  assert.equal(sigusr1Disabled(['node', 'w.js'], '--disable-sigusr1'), true);
  assert.equal(sigusr1Disabled(['node', 'w.js'], '--inspect-port=0'), false);
});
