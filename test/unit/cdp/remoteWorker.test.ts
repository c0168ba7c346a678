// Which remote process Attach (and `fleet --heap`) picks from a fleet reply, and the errors it gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickRemoteProcess, RemoteAttachError } from '../../../src/cdp/remoteWorker';
import type { FleetWorker } from '../../../src/model/fleet';
import type { FleetProcess, FleetReply } from '../../../src/protocol/fleet';

function proc(pid: number, role: 'main' | 'child', runs: number, grew: number, agent = true): FleetProcess {
  return {
    pid, role, processName: role === 'main' ? 'MainProcess' : `ForkPoolWorker-${pid}`, rssBytes: 1000 + grew, rssFirstBytes: 1000, rssFirstAt: 0, trend: [],
    agentPort: agent ? 4000 + pid : null, agentVersion: '1', token: agent ? `tok${pid}` : undefined, tasks: runs ? [{ name: 'tasks.leak', runs, memDeltaBytes: 0 } as never] : [],
    growth: null, countsAt: null, breakdown: null, error: null,
  };
}
function worker(node: string, processes: FleetProcess[] | null): FleetWorker {
  return { node, status: processes ? 'ok' : 'no-answer', duplicate: false, reason: processes ? null : 'no answer in time', host: 'h1', rssBytes: 0, growthBytes: 0, taskMemBytes: 0, since: null,
    reply: processes ? ({ node, host: 'h1', pid: processes[0].pid, processes } as unknown as FleetReply) : null };
}

test('NODE picks the child that ran the most tasks, then the one that grew most; NODE:PID that process', () => {
  const ws = [worker('a@h1', [proc(10, 'main', 0, 900), proc(11, 'child', 3, 10), proc(12, 'child', 7, 5)])];
  assert.deepEqual(pickRemoteProcess(ws, 'a@h1'), { node: 'a@h1', host: 'h1', pid: 12, role: 'child', processName: 'ForkPoolWorker-12', agentPort: 4012, token: 'tok12' });
  const tie = [worker('a@h1', [proc(10, 'main', 0, 0), proc(11, 'child', 0, 50), proc(12, 'child', 0, 5)])];
  assert.equal(pickRemoteProcess(tie, 'a@h1').pid, 11);
  assert.equal(pickRemoteProcess(ws, 'a@h1:10').role, 'main');
});

test('no such worker, no answer, no agent, duplicates: one RemoteAttachError each', () => {
  const ws = [worker('a@h1', [proc(10, 'main', 0, 0), proc(11, 'child', 1, 0, false)]), worker('late@h2', null)];
  assert.throws(() => pickRemoteProcess(ws, 'b@h1'), (e: unknown) => e instanceof RemoteAttachError && e.code === 'no-worker' && /seen: a@h1, late@h2/.test(e.message));
  assert.throws(() => pickRemoteProcess(ws, 'late@h2'), (e: unknown) => e instanceof RemoteAttachError && /no answer in time/.test(e.message));
  assert.throws(() => pickRemoteProcess(ws, 'a@h1:11'), (e: unknown) => e instanceof RemoteAttachError && e.code === 'no-agent' && /has: 10, 11/.test(e.message));
  const dup = [worker('d@h', [proc(1, 'main', 0, 0)]), worker('d@h', [proc(2, 'main', 0, 0)])];
  assert.throws(() => pickRemoteProcess(dup, 'd@h'), (e: unknown) => e instanceof RemoteAttachError && e.code === 'duplicate');
});
