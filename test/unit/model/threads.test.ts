// Wording of thread stacks (shared by the Threads view and `workerlens stacks`), and the CLI text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GetThreadStacksResult, ThreadStack } from '../../../src/protocol/agent';
import { deadlockSummary, sortThreads, sourceLabel, stateLabel, taskSummary, threadsById, waitSummary } from '../../../src/model/threads';
import { stacksText } from '../../../src/cli/stacksCommand';

const lockA = { id: 0x10, type: '_thread.lock', kind: 'Lock' };
const lockB = { id: 0x20, type: '_thread.lock', kind: 'Lock' };
const frame = (fn: string, line: number) => ({ functionName: fn, url: '/app/tasks.py', lineNumber: line - 1 });
const t1: ThreadStack = { threadId: 1, name: 'A', daemon: false, isAgent: false, nativeId: 101, frames: [frame('ab', 5)], state: 'waiting', stateDetail: 'on a lock',
  waitsOn: { object: lockB, call: 'acquire', expression: 'lock_b', at: null, how: 'source', holderThreadIds: [2] }, holds: [{ object: lockA, expression: 'lock_a', url: '/app/tasks.py', lineNumber: 3, how: 'source' }] };
const t2: ThreadStack = { threadId: 2, name: 'B', daemon: false, isAgent: false, nativeId: 102, frames: [frame('ba', 12)], state: 'waiting', stateDetail: 'on a lock',
  waitsOn: { object: lockA, call: 'acquire', expression: 'lock_a', at: null, how: 'source', holderThreadIds: [1] } };
const slow: ThreadStack = { threadId: 3, name: 'C', daemon: true, isAgent: false, frames: [frame('slow', 20)], state: 'sleeping', stateDetail: 'in sleep()',
  task: { name: 'tasks.slow', taskId: 'abcdef0123', startedAt: 0, runningSeconds: 75, softTimeLimit: 60, timeLimit: 120, pastSoftLimit: true, pastHardLimit: false } };
const agent: ThreadStack = { threadId: 4, name: 'Worker Lens agent', daemon: true, isAgent: true, frames: [], state: 'agent' };
const result: GetThreadStacksResult = { threads: [agent, slow, t2, t1], deadlocks: [{ threadIds: [1, 2], objects: [lockB, lockA], how: 'cycle' }], source: 'agent', pauseMs: 1.23 };

test('a deadlock names each thread, what it waits on and who holds it', () => {
  assert.equal(deadlockSummary(result.deadlocks![0], threadsById(result)),
    'Deadlock: A (tid 101) waits on Lock 0x20 (_thread.lock) held by B (tid 102); B (tid 102) waits on Lock 0x10 (_thread.lock) held by A (tid 101)');
  assert.equal(waitSummary(t1.waitsOn!, threadsById(result)), 'waits on `lock_b` = Lock 0x20 (_thread.lock), held by B (tid 102)');
});

test('a task past its soft limit says so, with its running time', () => {
  assert.equal(taskSummary(slow.task!), 'tasks.slow [abcdef01] running 1 min 15 s (soft limit 1 min 0 s — PAST IT, hard limit 2 min 0 s)');
  assert.equal(stateLabel(slow), 'sleeping in sleep()');
});

test('deadlocked threads first, then past-soft-limit tasks, the agent last; the source is named', () => {
  assert.deepEqual(sortThreads(result).map(t => t.threadId), [1, 2, 3, 4]);
  assert.equal(sourceLabel(result), 'from the agent (worker paused 1.2 ms)');
  assert.equal(sourceLabel({ threads: [], source: 'outside' }), 'read from outside (/proc/PID/mem, worker not stopped)');
});

test('CLI text: deadlock line, holds, frames; a process without stacks says why', () => {
  const text = stacksText([
    { pid: 7, label: 'main (pid 7)', result, source: 'agent', error: null, agentError: null },
    { pid: 8, label: 'ForkPoolWorker-1 (pid 8)', result: null, source: null, error: 'may not read the memory of pid 8', agentError: 'pid 8 runs no Worker Lens agent' },
  ]);
  assert.match(text, /^== main \(pid 7\)\n {3}4 threads, from the agent/m);
  assert.match(text, /!! Deadlock: A \(tid 101\) waits on Lock 0x20/);
  assert.match(text, /holds `lock_a` \(Lock 0x10\) since \/app\/tasks\.py:4/);
  assert.match(text, / {7}ab \(\/app\/tasks\.py:5\)/);
  assert.match(text, /no stacks: may not read the memory of pid 8 \(agent: pid 8 runs no Worker Lens agent\)/);
});
