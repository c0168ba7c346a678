// Retainer graphs for the webview tests and benchmarks: a small hand-made one shaped like the example
// Celery worker's leak, and seeded synthetic ones of any size (deterministic: same seed, same graph).

import type { RetainerGraph, RetainerNode, RetainerEdge, RetainerPath, RootKind } from '../../../src/protocol/webview';

/** The example worker (examples/celery-leaky): Payloads kept by tasks.leaky_storage, one by a frame, one by a session dict. */
export function leakyGraph(tasksFile = '/work/main/examples/celery-leaky/tasks.py'): RetainerGraph {
  const nodes: RetainerNode[] = [
    { id: '1', type: 'list', label: 'leaky_storage', selfSize: 8056, retainedSize: 2_450_000, rootKind: 'global', source: { file: tasksFile, line: 36 } },
    { id: '3', type: 'Payload', label: 'Payload@17', selfSize: 56, retainedSize: 2_150, isTarget: true, dominatorId: '1' },
    { id: '5', type: 'Payload', label: 'Payload@18', selfSize: 56, retainedSize: 2_150, isTarget: true, dominatorId: '1' },
    { id: '7', type: 'thread', label: 'MainThread', selfSize: 0, retainedSize: 4_300, rootKind: 'thread' },
    { id: '9', type: 'frame', label: 'frame leak', selfSize: 480, retainedSize: 2_700, source: { file: tasksFile, line: 40 }, dominatorId: '7' },
    { id: '11', type: 'Payload', label: 'Payload@900', selfSize: 56, retainedSize: 2_150, isTarget: true, dominatorId: '9' },
    { id: '13', type: 'module', label: 'sessions', selfSize: 72, retainedSize: 30_000, rootKind: 'module', source: { file: '/srv/app/sessions.py', line: 1 } },
    { id: '15', type: 'SessionManager', label: 'manager', selfSize: 48, retainedSize: 20_000, source: { file: '/srv/app/sessions.py', line: 12 }, dominatorId: '13' },
    { id: '17', type: 'dict', label: 'dict', selfSize: 640, retainedSize: 19_000, dominatorId: '15' },
    { id: '19', type: 'Payload', label: 'Payload@user-9', selfSize: 56, retainedSize: 2_150, isTarget: true, dominatorId: '17' },
  ];
  const edges: RetainerEdge[] = [
    { from: '1', to: '3', label: '[17]', edgeType: 'element' },
    { from: '1', to: '5', label: '[18]', edgeType: 'element' },
    { from: '7', to: '9', label: '[0]', edgeType: 'element' },
    { from: '9', to: '11', label: 'payload', edgeType: 'context' },
    { from: '13', to: '15', label: 'manager', edgeType: 'property' },
    { from: '15', to: '17', label: '_sessions', edgeType: 'property' },
    { from: '17', to: '19', label: "['user-9']", edgeType: 'property' },
  ];
  const paths: RetainerPath[] = [
    { id: 'p1', nodeIds: ['1', '3'], instanceCount: 800, exampleLabels: ['tasks.leaky_storage[17]', 'tasks.leaky_storage[18]'] },
    { id: 'p2', nodeIds: ['1', '5'], instanceCount: 1, exampleLabels: ['tasks.leaky_storage[18]'] },
    { id: 'p3', nodeIds: ['7', '9', '11'], instanceCount: 1, exampleLabels: ['MainThread frame leak: payload'] },
    { id: 'p4', nodeIds: ['13', '15', '17', '19'], instanceCount: 12, exampleLabels: ["sessions.manager._sessions['user-9']"] },
  ];
  return { targetType: 'Payload', instanceCount: 814, sampledCount: 814, source: 'celery@test ForkPoolWorker-1', nodes, edges, paths };
}

function rng(seed: number): () => number {
  // mulberry32: small, fast, good enough for shaping test graphs.
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A forest of `nodeCount` nodes: a few roots (modules, threads, gc roots), containers up to depth 6,
 * ~40 % target instances as leaves; one clustered path per target with a Zipf-like instance count.
 */
export function syntheticGraph(nodeCount: number, seed = 7): RetainerGraph {
  const rand = rng(seed);
  const nodes: RetainerNode[] = [];
  const edges: RetainerEdge[] = [];
  const parent = new Map<string, string>();
  const depth = new Map<string, number>();
  const containers: string[] = [];
  const typeOf = new Map<string, string>();
  const rootCount = Math.max(1, Math.min(24, Math.round(nodeCount / 60)));
  const kinds: RootKind[] = ['module', 'module', 'thread', 'gcRoot'];
  const types = ['dict', 'list', 'SessionManager', 'Cache', 'tuple', 'set'];
  for (let i = 0; i < Math.min(rootCount, nodeCount); i++) {
    const kind = kinds[i % kinds.length];
    const id = `r${i}`;
    nodes.push({ id, type: kind === 'module' ? 'module' : kind === 'thread' ? 'thread' : 'gc root', label: kind === 'module' ? `app.mod${i}` : `${kind}-${i}`, selfSize: 72, retainedSize: 0, rootKind: kind, ...(kind === 'module' ? { source: { file: `/srv/app/mod${i}.py`, line: 1 } } : {}) });
    depth.set(id, 0);
    typeOf.set(id, nodes[nodes.length - 1].type);
    containers.push(id);
  }
  const targets: string[] = [];
  for (let i = nodes.length; i < nodeCount; i++) {
    const id = `n${i}`;
    const isTarget = rand() < 0.4 || containers.length > nodeCount / 3;
    let p = containers[Math.floor(rand() * containers.length)];
    if ((depth.get(p) ?? 0) >= 6) p = containers[Math.floor(rand() * Math.min(containers.length, rootCount * 4))];
    parent.set(id, p);
    depth.set(id, depth.get(p)! + 1);
    const type = isTarget ? 'Payload' : types[Math.floor(rand() * types.length)];
    nodes.push({ id, type, label: isTarget ? `Payload@${i}` : `${type}#${i}`, selfSize: 56 + Math.floor(rand() * 500), retainedSize: 0, isTarget, dominatorId: p });
    const parentType = typeOf.get(p);
    typeOf.set(id, type);
    const label = parentType === 'list' || parentType === 'tuple' ? `[${i}]` : parentType === 'dict' ? `['key-${i}']` : `attr_${i % 97}`;
    edges.push({ from: p, to: id, label, edgeType: parentType === 'list' || parentType === 'tuple' ? 'element' : 'property' });
    if (isTarget) targets.push(id); else containers.push(id);
  }
  const paths: RetainerPath[] = targets.map((t, k) => {
    const ids = [t];
    for (let cur = parent.get(t); cur !== undefined; cur = parent.get(cur)) ids.unshift(cur);
    return { id: `p${k}`, nodeIds: ids, instanceCount: Math.max(1, Math.round(2000 / (k + 1))), exampleLabels: [ids.join('.')] };
  });
  const instanceCount = paths.reduce((s, p) => s + p.instanceCount, 0);
  return { targetType: 'Payload', instanceCount, nodes, edges, paths };
}
