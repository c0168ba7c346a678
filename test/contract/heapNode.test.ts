// Real Node targets over CDP: the CLI finds the leak in a module-level Map, our parser agrees with
// @vscode/v8-heap-parser on a real snapshot, and a target dying mid-run is one clear error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as v8hp from '@vscode/v8-heap-parser';
import { CdpClient } from '../../src/cdp/client';
import { captureHeapSnapshot } from '../../src/cdp/heapCapture';
import { HeapAnalysis } from '../../src/model/leakReport';
import { main } from '../../src/cli/main';
import { buildCli, freePort, startInspectee, kill, runCli, Inspectee, ROOT } from './heapHelpers';

const LEAKY = path.join(ROOT, 'test/fixtures/heap/leakyMap.js');
let target: Inspectee | undefined;
let victim: Inspectee | undefined;

before(async () => {
  await buildCli();
  target = await startInspectee(LEAKY, await freePort());  // a named port, so --pid can find it
});
after(() => { kill(target?.child); kill(victim?.child); });

test('CLI (real subprocess, --connect HOST:PORT) names the leaked class and a path through the Map', async () => {
  const r = await runCli(['heap', '--connect', (target as Inspectee).hostPort, '--samples', '3', '--interval', '0.5', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { suspects: { type: string; count: number; delta: number; paths: { labels: string[]; count: number }[] }[] };
  const top = out.suspects[0];
  assert.equal(top.type, 'Payload', JSON.stringify(out.suspects.map(s => [s.type, s.delta])));
  assert.ok(top.delta > 0 && top.count >= top.delta);
  const labels = top.paths[0].labels;
  const at = labels.indexOf('leaks');
  assert.ok(at >= 0 && labels[at + 1] === 'table' && /^\['key-\d+'\]$/.test(labels[at + 2]), JSON.stringify(labels));
  assert.ok(top.paths[0].count >= top.delta * 0.9, 'the new Payloads share one clustered path');
});

test('CLI (in-process, ws:// URL, text) prints the clustered path like a JS developer reads it', async () => {
  let stdout = '', stderr = '';
  const code = await main(['heap', '--connect', (target as Inspectee).wsUrl, '--samples', '2', '--interval', '0.3'], { stdout: t => { stdout += t; }, stderr: t => { stderr += t; }, cwd: ROOT });
  assert.equal(code, 0, stderr);
  assert.match(stdout, /1\. Payload {2}count [\d,]+ {2}\+[\d,]+/);
  assert.match(stdout, /leaks \(Map\) → table → \['key-\d+'\] → Payload/);
});

test('--pid of a Node process started with --inspect=HOST:PORT goes to its inspector', async () => {
  const r = await runCli(['heap', '--pid', String((target as Inspectee).child.pid), '--samples', '2', '--interval', '0.3', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { suspects: { type: string }[] }).suspects[0].type, 'Payload');
});

test('our parser and @vscode/v8-heap-parser agree on a real snapshot: nodes, edges, per-class counts', async () => {
  const client = await CdpClient.connect({ worker: 'leakyMap.js', locate: async () => ({ webSocketUrl: (target as Inspectee).wsUrl, label: 'leakyMap.js' }) });
  const chunks: string[] = [];
  let ours;
  try { ours = await captureHeapSnapshot(client, { onChunk: c => chunks.push(c) }); } finally { client.dispose(); }
  const graph = v8hp.decode_bytes(Buffer.from(chunks.join('')));
  const groups = graph.get_class_groups(0, 1_000_000, true);
  let nodes = 0, edges = 0;
  const theirs = new Map<string, number>();
  groups.forEach((g, i) => {
    nodes += g.children_len;
    theirs.set(g.name(), g.children_len);
    for (const n of graph.class_children(i, 0, g.children_len, v8hp.WasmSortBy.SelfSize)) { edges += n.children_len; n.free(); }
  });
  assert.equal(ours.nodeCount, nodes);
  assert.equal(ours.edgeCount, edges);
  const summary = new HeapAnalysis(ours).summary;
  const mine = new Map(summary.map(r => [r.className, r.count]));
  // v8-heap-parser folds node types it does not know (object shape, symbol, …) into "(unknown)".
  let unknownOurs = 0;
  for (const [name, count] of mine) if (!theirs.has(name)) unknownOurs += count;
  for (const [name, count] of theirs) {
    if (name === '(unknown)') assert.equal(count, unknownOurs);
    else assert.equal(mine.get(name), count, `class ${name}`);
  }
  assert.ok((mine.get('Payload') ?? 0) > 0);
});

test('a target that dies mid-run: one line on stderr, exit 1, no stack trace', async () => {
  victim = await startInspectee(LEAKY);
  const v = victim;
  let killed = false;
  const r = await runCli(['heap', '--connect', v.hostPort, '--samples', '20', '--interval', '0.3'], err => {
    if (!killed && /sample 2\//.test(err)) { killed = true; kill(v.child); }
  });
  assert.ok(killed, r.stderr);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n').filter(l => !/^(sample \d+\/\d+|connecting)…$/.test(l));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^workerlens heap: .*(went away|closed|connect)/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
