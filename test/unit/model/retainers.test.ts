import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot, NodeSpec } from './snapshotBuilder';
import { parseHeapSnapshot } from '../../../src/model/heapSnapshot';
import { computeShortestPaths, clusterRetainerPaths, retainerPath, normaliseLabel } from '../../../src/model/retainers';

/** A Python heap laid out as src/protocol/snapshot.ts says: 3 Payloads in tasks.leaky_storage, 2 sessions in a dict. */
function pythonHeap(): NodeSpec[] {
  return [
    /* 0 */ { type: 'synthetic', name: '', edges: [['element', 0, 1], ['element', 1, 2], ['element', 2, 3]] },
    /* 1 */ { type: 'synthetic', name: '(modules)', edges: [['property', 'tasks', 4], ['property', 'sessions', 10]] },
    /* 2 */ { type: 'synthetic', name: '(threads)', edges: [] },
    /* 3 */ { type: 'synthetic', name: '(gc roots)', edges: [['element', 0, 14]] },
    /* 4 */ { type: 'object', name: 'module', edges: [['property', 'leaky_storage', 5], ['internal', '__dict__', 9]] },
    /* 5 */ { type: 'object', name: 'list', edges: [['element', 0, 6], ['element', 1, 7], ['element', 2, 8]] },
    /* 6 */ { type: 'object', name: 'Payload', edges: [] },
    /* 7 */ { type: 'object', name: 'Payload', edges: [] },
    /* 8 */ { type: 'object', name: 'Payload', edges: [] },
    /* 9 */ { type: 'object', name: 'dict', edges: [['internal', '<internal>', 5]] },
    /* 10 */ { type: 'object', name: 'module', edges: [['property', 'SessionManager', 11]] },
    /* 11 */ { type: 'object', name: 'class SessionManager', edges: [['property', '_sessions', 12]] },
    /* 12 */ { type: 'object', name: 'dict', edges: [['property', "['user-9']", 13], ['property', "['user-10']", 15]] },
    /* 13 */ { type: 'object', name: 'Session', edges: [] },
    /* 14 */ { type: 'object', name: 'Payload', edges: [['weak', 'w', 6]] },
    /* 15 */ { type: 'object', name: 'Session', edges: [] },
  ];
}

test('Python paths start at the module global and read like code', () => {
  const s = parseHeapSnapshot(buildSnapshot(pythonHeap()));
  const sp = computeShortestPaths(s);
  const p = retainerPath(s, sp, 7);
  assert.ok(p);
  assert.deepEqual(p.labels, ['tasks', 'leaky_storage', '[1]']);
  assert.equal(p.text, 'tasks.leaky_storage[1]');
  const q = retainerPath(s, sp, 13);
  assert.deepEqual(q?.labels, ['sessions', 'SessionManager', '_sessions', "['user-9']"]);
  assert.equal(q?.text, "sessions.SessionManager._sessions['user-9']");
});

test('identical paths cluster with counts; indexes and keys are normalised but an example is kept', () => {
  const s = parseHeapSnapshot(buildSnapshot(pythonHeap()));
  const sp = computeShortestPaths(s);
  const r = clusterRetainerPaths(s, sp, s.nodesOfClass('Payload'));
  assert.equal(r.clusters.length, 2);
  assert.equal(r.clusters[0].count, 3);
  assert.deepEqual(r.clusters[0].pattern, ['tasks', 'leaky_storage', '[*]']);
  assert.deepEqual(r.clusters[0].labels, ['tasks', 'leaky_storage', '[0]']);
  assert.equal(r.clusters[1].count, 1); // the one held from C (gc roots)
  const sessions = clusterRetainerPaths(s, sp, s.nodesOfClass('Session'));
  assert.equal(sessions.clusters.length, 1);
  assert.equal(sessions.clusters[0].count, 2);
  assert.equal(normaliseLabel("['user-9']"), '[*]');
});

test('named edges win over internal ones at equal distance; shorter beats named', () => {
  const nodes: NodeSpec[] = [
    { type: 'synthetic', name: '', edges: [['property', 'a', 1], ['property', 'b', 2]] },
    { type: 'object', name: 'A', edges: [['internal', 'slot', 3]] },
    { type: 'object', name: 'B', edges: [['property', 'named', 3]] },
    { type: 'object', name: 'Target', edges: [] },
    { type: 'object', name: 'Deep', edges: [] },
  ];
  nodes[0].edges?.push(['property', 'c', 4]);
  const s = parseHeapSnapshot(buildSnapshot(nodes));
  assert.deepEqual(retainerPath(s, computeShortestPaths(s), 3)?.labels, ['b', 'named']);
  // the internal edge is first in edge order, so this is not an ordering accident
  nodes[1].edges = [['property', 'named1', 3]];
  nodes[2].edges = [['internal', 'slot', 3]];
  const t = parseHeapSnapshot(buildSnapshot(nodes));
  assert.deepEqual(retainerPath(t, computeShortestPaths(t), 3)?.labels, ['a', 'named1']);
});

test('weak edges are not paths; weakly held objects are unreachable', () => {
  const nodes: NodeSpec[] = [
    { type: 'synthetic', name: '', edges: [['property', 'cache', 1], ['property', 'holder', 2]] },
    { type: 'object', name: 'WeakMapLike', edges: [['weak', 'w', 3]] },
    { type: 'object', name: 'Holder', edges: [['property', 'x', 4]] },
    { type: 'object', name: 'Ghost', edges: [] },
    { type: 'object', name: 'Mid', edges: [['property', 'target', 5]] },
    { type: 'object', name: 'T', edges: [] },
  ];
  nodes[1].edges?.push(['weak', 'w2', 5]);
  const s = parseHeapSnapshot(buildSnapshot(nodes));
  const sp = computeShortestPaths(s);
  assert.equal(retainerPath(s, sp, 3), null);
  assert.deepEqual(retainerPath(s, sp, 5)?.labels, ['holder', 'x', 'target']);
  const r = clusterRetainerPaths(s, sp, [3, 5]);
  assert.equal(r.unreachable, 1);
  assert.equal(r.clusters.length, 1);
});

test('V8 Map entries render with their key: leaks (Map) → table → [key] → Payload', () => {
  // root -shortcut→ global -property leaks→ Map -internal table→ array; slots: 1=key string, 2=value
  const nodes: NodeSpec[] = [
    { type: 'synthetic', name: '', edges: [['element', 1, 1], ['shortcut', '2', 2]] },
    { type: 'synthetic', name: '(GC roots)', edges: [] },
    { type: 'object', name: 'global / ', edges: [['property', 'leaks', 3]] },
    { type: 'object', name: 'Map', edges: [['internal', 'table', 4]] },
    { type: 'array', name: '', edges: [['internal', '1', 5], ['internal', '2', 6], ['internal', '4', 7], ['internal', '5', 8]] },
    { type: 'string', name: 'key-1', edges: [] },
    { type: 'object', name: 'Payload', edges: [] },
    { type: 'string', name: 'key-2', edges: [] },
    { type: 'object', name: 'Payload', edges: [] },
  ];
  const s = parseHeapSnapshot(buildSnapshot(nodes));
  const sp = computeShortestPaths(s);
  const p = retainerPath(s, sp, 6);
  assert.deepEqual(p?.labels, ['global', 'leaks', 'table', "['key-1']"]);
  assert.equal(p?.text, "global → leaks (Map) → table → ['key-1'] → Payload");
  const r = clusterRetainerPaths(s, sp, s.nodesOfClass('Payload'));
  assert.equal(r.clusters.length, 1);
  assert.equal(r.clusters[0].count, 2);
  // the key strings themselves
  assert.equal(retainerPath(s, sp, 5)?.text, 'global → leaks (Map) → table → <key> → (string)');
});
