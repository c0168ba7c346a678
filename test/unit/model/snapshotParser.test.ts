import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot, chunks, NodeSpec } from './snapshotBuilder';
import { HeapSnapshot, loadHeapSnapshot, parseHeapSnapshot, SnapshotFormatError } from '../../../src/model/heapSnapshot';
import { SnapshotParser } from '../../../src/model/snapshotParser';

const NASTY = ['plain', 'quote " and \\ backslash', 'newline\nand\ttab', 'unicode é ü 漢字 😀', '\u0000nul', 'x'.repeat(5000), '', ',[]{}:"'];

function graph(): NodeSpec[] {
  return [
    { type: 'synthetic', name: '', edges: [['element', 1, 1], ['element', 2, 2]] },
    { type: 'synthetic', name: '(GC roots)', edges: [['property', 'a', 3]] },
    { type: 'object', name: 'Payload', size: 40, edges: [['property', 'label', 4], ['weak', 'w', 3]] },
    ...NASTY.map((s): NodeSpec => ({ type: 'string', name: s, size: s.length })),
  ].map(n => n) as NodeSpec[];
}

function check(s: HeapSnapshot) {
  assert.equal(s.nodeCount, 3 + NASTY.length);
  assert.equal(s.edgeCount, 5);
  assert.equal(s.nodeName(2), 'Payload');
  assert.equal(s.className(2), 'Payload');
  assert.equal(s.className(3), '(string)');
  assert.deepEqual(NASTY.map((_, k) => s.nodeName(3 + k)), NASTY);
  assert.equal(s.edgeName(s.firstEdge[0] + 1), '2');
  assert.equal(s.edgeName(s.firstEdge[2]), 'label');
  assert.equal(s.edgeTarget[s.firstEdge[2]], 4);
  assert.equal(s.nodeSelfSize[2], 40);
  assert.ok(s.isWeak(s.firstEdge[2] + 1));
}

test('parses a whole snapshot given at once', () => {
  check(parseHeapSnapshot(buildSnapshot(graph())));
});

test('gives the same result for every chunking, including 1-byte chunks through strings and numbers', async () => {
  const text = buildSnapshot(graph(), { extra: { trace_function_infos: [], trace_tree: [[1, [2, {}]], 'a]b'], samples: [], locations: [] } });
  for (const sizes of [[1], [2, 3], [7], [64, 1, 13], [4096]]) check(await loadHeapSnapshot(chunks(text, sizes)));
  // string chunks, as CDP delivers them (cut at character boundaries, never inside a UTF-8 sequence)
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += 5) pieces.push(text.slice(i, i + 5));
  check(await loadHeapSnapshot(pieces));
});

test('follows meta field order instead of fixed offsets', () => {
  const text = buildSnapshot(graph(), { nodeFields: ['edge_count', 'self_size', 'detachedness', 'name', 'id', 'type'], edgeFields: ['to_node', 'type', 'name_or_index'] });
  check(parseHeapSnapshot(text));
});

test('rejects truncated input with a clear message, at any cut', () => {
  const text = buildSnapshot(graph());
  for (const cut of [0, 1, 30, text.indexOf('"nodes"') + 12, text.indexOf('"strings"') + 15, text.length - 1]) {
    assert.throws(() => parseHeapSnapshot(text.slice(0, cut)), (e: unknown) => e instanceof SnapshotFormatError && /ends early|truncated/.test(e.message), `cut ${cut}`);
  }
});

test('rejects input that is not a snapshot', () => {
  const bad: [string, RegExp][] = [
    ['hello world', /does not start with a JSON object/],
    ['\x89PNG\r\n', /does not start/],
    ['{"foo": 1}', /no 'snapshot' metadata/],
    ['[1,2,3]', /does not start with a JSON object/],
  ];
  for (const [text, re] of bad) assert.throws(() => parseHeapSnapshot(text), (e: unknown) => e instanceof SnapshotFormatError && re.test(e.message), text);
});

test('rejects negative or fractional numbers and wrong counts', () => {
  const text = buildSnapshot(graph());
  const nodesAt = text.indexOf('"nodes":[') + 9;
  assert.throws(() => parseHeapSnapshot(text.slice(0, nodesAt) + '-' + text.slice(nodesAt)), /unsigned integers/);
  assert.throws(() => parseHeapSnapshot(text.replace('"node_count":11', '"node_count":12')), /says 12/);
  assert.throws(() => parseHeapSnapshot(text.replace('"node_count":11', '"node_count":10')), /more records/);
  assert.throws(() => parseHeapSnapshot(text.replace('"edge_count":5', '"edge_count":6')), /edge/);
});

test('rejects edges pointing outside the node list', () => {
  const nodes: NodeSpec[] = [{ type: 'synthetic', name: '', edges: [['element', 1, 5]] }];
  assert.throws(() => parseHeapSnapshot(buildSnapshot(nodes)), /not a node/);
});

test('the parser never holds more than a chunk of the strings section as one string', () => {
  // 2,000 strings of 1 KB fed in 8 KB chunks: each batch parse sees at most one chunk.
  const nodes: NodeSpec[] = [{ type: 'synthetic', name: '', edges: [] }];
  for (let i = 0; i < 2000; i++) nodes.push({ type: 'string', name: `s${i}-` + 'y'.repeat(1000) });
  const text = buildSnapshot(nodes);
  const orig = JSON.parse;
  let longest = 0;
  JSON.parse = ((t: string, r?: never) => { longest = Math.max(longest, t.length); return orig(t, r); }) as typeof JSON.parse;
  try {
    const p = new SnapshotParser();
    for (const c of chunks(text, [8192])) p.write(c);
    const s = new HeapSnapshot(p.end());
    assert.equal(s.nodeName(2000), `s1999-${'y'.repeat(1000)}`);
  } finally { JSON.parse = orig; }
  assert.ok(longest <= 8192 + 2, `longest JSON.parse input ${longest}`);
});
