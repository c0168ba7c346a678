// `workerlens heap FILE…` through main() (the CLI's real entry, in-process): offline comparison of
// Python-shaped snapshots, the JSON shape, and one-line errors for bad input and bad arguments.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main';
import { buildSnapshot, NodeSpec } from '../unit/model/snapshotBuilder';

let dir = '';
before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-heap-cli-')); });
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A Python heap as the agent lays it out, with `leaked` Payloads in tasks.leaky_storage and sessions in a dict. */
function pythonHeap(leaked: number, sessions: number): string {
  const nodes: NodeSpec[] = [
    { type: 'synthetic', name: '', id: 1, edges: [['element', 0, 1]] },
    { type: 'synthetic', name: '(modules)', id: 3, edges: [['property', 'tasks', 2], ['property', 'app.sessions', 3]] },
    { type: 'object', name: 'module', id: 5, edges: [['property', 'leaky_storage', 4]] },
    { type: 'object', name: 'module', id: 7, edges: [['property', 'SessionManager', 5]] },
    { type: 'object', name: 'list', id: 9, edges: [] },
    { type: 'object', name: 'class SessionManager', id: 11, edges: [['property', '_sessions', 6]] },
    { type: 'object', name: 'dict', id: 13, edges: [] },
  ];
  for (let i = 0; i < leaked; i++) { nodes[4].edges?.push(['element', i, nodes.length]); nodes.push({ type: 'object', name: 'Payload', id: 1001 + 2 * i, size: 48 }); }
  for (let i = 0; i < sessions; i++) { nodes[6].edges?.push(['property', `['user-${i}']`, nodes.length]); nodes.push({ type: 'object', name: 'Session', id: 50001 + 2 * i, size: 64 }); }
  return buildSnapshot(nodes);
}

async function cli(...args: string[]) {
  let stdout = '', stderr = '';
  const code = await main(['heap', ...args], { stdout: t => { stdout += t; }, stderr: t => { stderr += t; }, cwd: dir });
  return { code, stdout, stderr };
}

test('--compare: the growing type with its clustered code-like paths, JSON labels root first', async () => {
  fs.writeFileSync(path.join(dir, 'a.heapsnapshot'), pythonHeap(10, 3));
  fs.writeFileSync(path.join(dir, 'b.heapsnapshot'), pythonHeap(810, 3));
  const r = await cli('b.heapsnapshot', '--compare', 'a.heapsnapshot', '--format', 'json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.suspects.length, 1);
  assert.deepEqual(
    { type: out.suspects[0].type, count: out.suspects[0].count, delta: out.suspects[0].delta, paths: out.suspects[0].paths.map((p: { labels: string[]; count: number }) => ({ labels: p.labels, count: p.count })) },
    { type: 'Payload', count: 810, delta: 800, paths: [{ labels: ['tasks', 'leaky_storage', '[10]'], count: 800 }] });
  const text = await cli('b.heapsnapshot', '--compare', 'a.heapsnapshot');
  assert.match(text.stdout, /1\. Payload {2}count 810 {2}\+800/);
  assert.match(text.stdout, /800× {2}tasks\.leaky_storage\[10\]/);
});

test('a series of files ranks steady growth; dict keys render as subscripts', async () => {
  for (const [i, n] of [[1, 2], [2, 30], [3, 60]]) fs.writeFileSync(path.join(dir, `s${i}.heapsnapshot`), pythonHeap(5, n));
  const r = await cli('s1.heapsnapshot', 's2.heapsnapshot', 's3.heapsnapshot', '--format', 'json');
  const out = JSON.parse(r.stdout);
  assert.equal(out.suspects[0].type, 'Session');
  assert.deepEqual(out.suspects[0].paths[0].labels, ['app.sessions', 'SessionManager', '_sessions', "['user-2']"]);
  assert.equal(out.suspects[0].paths[0].text, "app.sessions.SessionManager._sessions['user-2']");
});

test('one file: the largest program types, delta null', async () => {
  const r = await cli('b.heapsnapshot', '--format', 'json');
  const out = JSON.parse(r.stdout);
  assert.equal(out.suspects[0].type, 'Payload');
  assert.equal(out.suspects[0].delta, null);
});

test('bad input is one line on stderr with a non-zero exit, never a stack trace', async () => {
  fs.writeFileSync(path.join(dir, 'trunc.heapsnapshot'), pythonHeap(100, 3).slice(0, 700));
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'just some text\n');
  fs.writeFileSync(path.join(dir, 'empty.heapsnapshot'), '');
  const cases: [string[], number, RegExp][] = [
    [['trunc.heapsnapshot'], 1, /trunc\.heapsnapshot: heap snapshot ends early .*truncated/],
    [['notes.txt'], 1, /notes\.txt: not a heap snapshot/],
    [['empty.heapsnapshot'], 1, /empty\.heapsnapshot: heap snapshot ends early before any data/],
    [['missing.heapsnapshot'], 1, /cannot read missing\.heapsnapshot: no such file/],
    [['.'], 1, /is a directory/],
    [['--pid', '999999999'], 1, /no process with pid 999999999/],
    [['--pid', String(process.pid), '--no-inject'], 1, /is a Node process without an open inspector: .*drop --no-inject/],
    [['--pid', String(process.pid)], 1, /pid \d+ is this process/],
    [['--connect', 'nonsense:xx'], 1, /'nonsense:xx' is not HOST:PORT or a ws:\/\/ URL/],
    [['--samples', '0', '--pid', '1'], 2, /--samples must be a whole number ≥ 1/],
    [['--pid', '1', '--connect', '1'], 2, /only one of/],
    [['--bogus'], 2, /unknown option '--bogus'/],
  ];
  for (const [args, code, re] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.split('\n')[0], re, args.join(' '));
    assert.equal(r.stdout, '');
    if (code === 1) assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
