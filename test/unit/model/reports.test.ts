import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { exitText, formatReport, formatReportList, parseReport, reportStatus, shortExit, sortEntries } from '../../../src/model/reports';
import type { FlightReport, ReportExit } from '../../../src/protocol/reports';

function report(pid: number, exit: ReportExit | null = null): FlightReport {
  return {
    format: 'workerlens-report', version: 1, pid, ppid: 100, role: 'child', processName: `ForkPoolWorker-${pid}`, childIndex: 0,
    workerName: 'celery@h', pool: 'prefork', limits: { maxTasksPerChild: null, maxMemoryPerChildKb: 60000 },
    startedAt: 1000, updatedAt: 1010, intervalSeconds: 5, pythonVersion: '3.11.2', agentVersion: '0.1.0',
    rssBytes: 50 << 20, maxRssBytes: 51 << 20, memory: null, memoryNote: 'the memory breakdown is not in this agent build: RSS only',
    objects: { at: 1005, costMs: 12, total: 60000, trackedBytesEstimate: 1, baselineAt: 1001, growing: [{ type: 'tasks.Payload', count: 900, growth: 880 }] },
    tasks: { completed: 2, runs: { 'tasks.leak': { succeeded: 2, failed: 0 } },
      memDelta: { 'tasks.leak': { cumulative: [0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2], sum: 4 << 20, count: 2 } },
      bucketBounds: [-1048576, -65536, 0, 4096, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
      recent: [{ name: 'tasks.leak', taskId: 'a', startedAt: 1008, seconds: 0.01, memDeltaBytes: 2 << 20, state: 'succeeded' }], running: 0 },
    threads: [{ name: 'MainThread', daemon: false, isRecorder: false, frames: [{ functionName: 'workloop', url: '/b/pool.py', lineNumber: 349 }] }],
    recorder: { paused: null, writes: 3, errors: 0, directory: '/tmp/r' }, exit,
  };
}

test('parseReport: a report, or why not', () => {
  assert.ok(parseReport(JSON.stringify(report(1))).report);
  assert.equal(parseReport('').note, 'empty');
  assert.match(parseReport('{"format": "workerlens-rep').note!, /^truncated or not JSON/);
  assert.equal(parseReport('{"a": 1}').note, 'not a Worker Lens report');
  assert.match(parseReport(JSON.stringify({ ...report(1), version: 2 })).note!, /version 2/);
  assert.equal(parseReport(JSON.stringify({ ...report(1), threads: undefined })).note, 'a report with missing fields');
});

test('status and words for each kind of exit', () => {
  const killed = { file: 'f', alive: false, report: report(2, { reason: 'sigkill', text: 'killed by signal 9 (SIGKILL): probably the OOM killer', at: 1020, by: 'main process', exitCode: -9, signal: 9 }) };
  const recycled = { file: 'g', alive: false, report: report(3, { reason: 'max_memory_per_child', text: 'recycled: RSS 61000 KiB over max_memory_per_child=60000 KiB', at: 1015, by: 'main process', exitCode: 155 }) };
  const running = { file: 'h', alive: true, report: report(4) };
  const gone = { file: 'i', alive: false, report: report(5) };
  assert.deepEqual([killed, recycled, running, gone].map(reportStatus), ['killed', 'exited', 'running', 'gone']);
  assert.deepEqual([killed, recycled, running, gone].map(shortExit), ['killed: signal 9 (OOM killer?)', 'recycled: max memory', 'running', 'gone']);
  assert.match(exitText(gone), /gone without a recorded exit/);
  assert.deepEqual(sortEntries([running, recycled, killed]).map(e => e.report.pid), [2, 3, 4]);
  const list = formatReportList([running, killed]);
  assert.match(list, /^\s+2 {2}ForkPoolWorker-2 \(child 0\)\s+celery@h\s+50\.0 MB {2}exited 1970-01-01 00:17:00Z {2}killed by signal 9/m);
  const text = formatReport(killed);
  for (const want of ['Status: killed by signal 9 (SIGKILL): probably the OOM killer', 'exit status -9', 'limits: max_tasks_per_child=— · max_memory_per_child=60000 KiB',
    'breakdown: the memory breakdown is not in this agent build: RSS only', '      +880  tasks.Payload (900 live)',
    'tasks.leak: 2 succeeded, 0 failed; RSS change per run +2.0 MB on average', '+2.0 MB', 'at workloop (/b/pool.py:350)',
    '10 s before the exit was recorded']) {
    assert.ok(text.includes(want), `missing "${want}" in:\n${text}`);
  }
});

test('growing types show their retainer path, how it was obtained, or why there is none', () => {
  const r = report(7);
  r.objects = {
    at: 1005, costMs: 12, total: 60000, trackedBytesEstimate: 1, baselineAt: 1001,
    growing: [
      { type: 'tasks.Payload', count: 900, growth: 880, path: ['tasks', 'leaky_storage', '[871]'], pathText: 'tasks.leaky_storage[871]',
        pathHow: 'one path from 5 sampled instances (the newest survivors), by gc referrers; shared by 5 of them', pathAt: 1003 },
      { type: 'tuple_tasks.TupleHeld', count: 40, growth: 30, path: null,
        pathNote: 'reached only through tuples/frozensets, which the agent never holds (the worker may be filling one): no path from 5 sampled instances', pathAt: 1005 },
      { type: 'dict', count: 20, growth: 3 },
    ],
    paths: { at: 1003, costMs: 41.5, types: 2, instances: 10, hops: 3, stopped: null },
  };
  const text = formatReport({ file: 'f', alive: true, report: r });
  const lines = text.split('\n');
  const at = lines.findIndex(l => l.includes('+880  tasks.Payload (900 live)'));
  assert.ok(at > 0, text);
  assert.equal(lines[at + 1], '              held by tasks.leaky_storage[871]');
  assert.equal(lines[at + 2].trim(), '(one path from 5 sampled instances (the newest survivors), by gc referrers; shared by 5 of them; found 1970-01-01 00:16:43Z)');
  assert.match(lines[at + 3], /\+30 {2}tuple_tasks\.TupleHeld \(40 live\)/);
  assert.equal(lines[at + 4].trim(), 'no path: reached only through tuples/frozensets, which the agent never holds (the worker may be filling one): no path from 5 sampled instances');
  assert.match(lines[at + 5], /\+3 {2}dict \(20 live\)$/);  // beyond the searched types: no path line
  assert.equal(lines[at + 6].trim(), 'retainer paths: last searched 1970-01-01 00:16:43Z, took 41.5 ms (2 types, 10 sampled instances, 3 gc.get_referrers hops); a path found is reused for a while');
  // a report of an older agent (no path fields) renders as before
  const old = formatReport({ file: 'f', alive: true, report: report(8) });
  assert.ok(!old.includes('held by') && !old.includes('retainer paths'), old);
});
