import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkReply, fleetFromLines, fleetTaskTable, groupByHost, parseFleetLine, sparkline, workerGrowth } from '../../../src/model/fleet';
import { redactBrokerUrl, splitBrokerUrl, withPassword } from '../../../src/common/brokerUrl';

function proc(pid: number, role: 'main' | 'child', rss: number, first: number, extra: Record<string, unknown> = {}) {
  return { pid, role, processName: role === 'main' ? 'MainProcess' : `ForkPoolWorker-${pid}`, rssBytes: rss, rssFirstBytes: first, rssFirstAt: 1000, trend: [first, rss],
    agentPort: 4000 + pid, agentVersion: '0.1.0', tasks: [], growth: [], countsAt: 1001, breakdown: null, error: null, ...extra };
}
function line(node: string, host: string, procs: unknown[], extra: Record<string, unknown> = {}) {
  return JSON.stringify({ type: 'worker', node, status: 'ok', duplicate: false, ...extra,
    reply: { workerlens: 1, agentVersion: '0.1.0', node, host, pid: (procs[0] as { pid: number }).pid, python: '3.11.2', celery: '5.2.6', pool: 'prefork', concurrency: 2,
      maxTasksPerChild: null, maxMemoryPerChildKb: null, at: 1002, elapsedMs: 40, truncated: false, processes: procs } });
}

test('the leaking worker ranks first across hosts; garbage and no-answer last; hosts in rank order', () => {
  const state = fleetFromLines([
    line('calm@a', 'a', [proc(1, 'main', 50e6, 50e6), proc(2, 'child', 40e6, 40e6)]),
    JSON.stringify({ type: 'worker', node: 'odd@b', status: 'unknown', duplicate: false, reason: 'replied list' }),
    line('leaky@b', 'b', [proc(3, 'main', 50e6, 50e6), proc(4, 'child', 90e6, 40e6, { tasks: [{ name: 'tasks.leak', runs: 10, memDeltaBytes: 5e6, lastMemDeltaBytes: 5e5 }], growth: [{ module: 'tasks', type: 'Payload', count: 10, delta: 10, sizeDelta: 560 }] })]),
    line('big@a', 'a', [proc(5, 'main', 500e6, 500e6)]),
    JSON.stringify({ type: 'worker', node: 'slow@c', status: 'no-answer', duplicate: false, reason: 'answered ping only' }),
    '', 'not json',
    JSON.stringify({ type: 'done', broker: 'redis://x', workers: 5, replies: 4, timeoutS: 1, elapsedMs: 1200 }),
  ]);
  assert.deepEqual(state.workers.map(w => w.node), ['leaky@b', 'big@a', 'calm@a', 'odd@b', 'slow@c']);
  assert.equal(state.workers[0].growthBytes, 50e6);
  assert.equal(state.error?.code, 'helper-output');
  assert.deepEqual(groupByHost(state.workers).map(g => [g.host, g.workers.map(w => w.node)]), [['b', ['leaky@b', 'odd@b']], ['a', ['big@a', 'calm@a']], ['c', ['slow@c']]]);
  assert.deepEqual(workerGrowth(state.workers[0]).map(g => `${g.type}+${g.delta}`), ['Payload+10']);
  assert.deepEqual(fleetTaskTable(state.workers), [{ name: 'tasks.leak', runs: 10, memDeltaBytes: 5e6, memSampledRuns: 10, perRunBytes: 5e5, workers: 1, processes: 1 }]);
  // agents that measure RSS on a sample of runs: the mean is over the measured runs, not all runs
  const sampled = fleetFromLines([line('s@c', 'c', [proc(9, 'child', 1, 1, { tasks: [{ name: 'tasks.leak', runs: 1000, memDeltaBytes: 4e6, lastMemDeltaBytes: 0, memSampledRuns: 40 }] })])]);
  assert.deepEqual(fleetTaskTable(sampled.workers).map(r => [r.runs, r.memSampledRuns, r.perRunBytes]), [[1000, 40, 1e5]]);
});

test('replies are checked field by field: wrong version, missing fields, bad types are "unknown"', () => {
  assert.match(String(checkReply({ workerlens: 2 })), /version 2/);
  assert.match(String(checkReply({ workerlens: 1, node: 'n', host: 'h', pid: 1, processes: [] })), /no processes/);
  assert.equal(typeof checkReply('x'), 'string');
  const l = parseFleetLine(line('n@h', 'h', [{ pid: 'x', role: 'main' }]));
  assert.equal(l?.type === 'worker' && l.status, 'unknown');
  // a token that is not hex never reaches the attach path; types of odd fields fall back to null
  const ok = parseFleetLine(line('n@h', 'h', [proc(1, 'main', 1, 1, { token: '../../etc', rssBytes: '12', tasks: 'x' })]));
  assert.ok(ok?.type === 'worker' && ok.status === 'ok');
  if (ok?.type === 'worker' && ok.status === 'ok') {
    const p = ok.reply.processes[0];
    assert.equal(p.token, undefined);
    assert.equal(p.rssBytes, null);
    assert.equal(p.tasks, null);
  }
});

test('duplicates are flagged with a reason; sparkline scales to its own range', () => {
  const s = fleetFromLines([line('d@h', 'h', [proc(1, 'main', 1, 1)], { duplicate: true }), line('d@h', 'h', [proc(2, 'main', 1, 1)], { duplicate: true })]);
  assert.ok(s.workers.every(w => w.duplicate && /same node name/.test(w.reason ?? '')));
  assert.equal(sparkline([1, 2, 3, 4, 5, 6, 7, 8]), '▁▂▃▄▅▆▇█');
  assert.equal(sparkline([5]), '');
  assert.equal(sparkline([3, 3]), '▁▁');
});

test('broker URLs: the password is split off for SecretStorage and never shown', () => {
  assert.deepEqual(splitBrokerUrl('redis://:p%40ss@h:6379/0'), { url: 'redis://@h:6379/0', password: 'p@ss' });
  assert.deepEqual(splitBrokerUrl('amqp://guest:guest@h//'), { url: 'amqp://guest@h//', password: 'guest' });
  assert.deepEqual(splitBrokerUrl('redis://h:6379/0'), { url: 'redis://h:6379/0', password: null });
  assert.equal(withPassword('amqp://guest@h//', 'g/u'), 'amqp://guest:g%2Fu@h//');
  assert.equal(withPassword('redis://@h:6379/0', 'p@ss'), 'redis://:p%40ss@h:6379/0');
  assert.equal(withPassword('redis://h:6379/0', 'x'), 'redis://:x@h:6379/0');
  assert.equal(redactBrokerUrl('redis://:secret@h/0'), 'redis://:***@h/0');
  assert.equal(redactBrokerUrl('redis://h/0'), 'redis://h/0');
});

test('a growing type keeps the path a process\'s recorder found for it, summed over processes; long strings clipped', () => {
  const held = { module: 'tasks', type: 'Payload', count: 10, delta: 10, sizeDelta: 560, path: 'tasks.leaky_storage[9]', pathHow: 'one path from 5 sampled instances' };
  const state = fleetFromLines([line('leaky@b', 'b', [proc(3, 'main', 50e6, 50e6, { growth: [{ module: 'tasks', type: 'Payload', count: 1, delta: 1, sizeDelta: 56, pathNote: 'growth seen in one count so far' }] }),
    proc(4, 'child', 90e6, 40e6, { growth: [held] }), proc(5, 'child', 60e6, 40e6, { growth: [{ ...held, path: 'x'.repeat(500) }] })])]);
  const g = workerGrowth(state.workers[0]);
  assert.equal(g[0].delta, 21);
  assert.equal(g[0].path, 'tasks.leaky_storage[9]');
  assert.equal(g[0].pathNote, undefined);
  assert.equal(state.workers[0].reply!.processes[2].growth![0].path!.length, 300);
});
