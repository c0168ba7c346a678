import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { heapTable, indexCounts, retainedSizesOf, typeKey } from '../../../src/model/heapTable';

const c = (module: string, type: string, count: number, size = count * 10) => ({ module, type, count, size });

test('delta against the baseline, new types count whole, sorted by delta', () => {
  const base = indexCounts([c('tasks', 'Payload', 10), c('builtins', 'dict', 500)]);
  const rows = heapTable([c('tasks', 'Payload', 25), c('builtins', 'dict', 490), c('app', 'Session', 3)], base, { sort: 'delta', filter: '', growing: new Set(['tasks.Payload']) });
  assert.deepEqual(rows.map(r => [r.key, r.delta, r.growing]), [['tasks.Payload', 15, true], ['app.Session', 3, false], ['dict', -10, false]]);
  assert.equal(rows[0].sizeDelta, 150);
});

test('no baseline: deltas are zero; sort by count and size; filter is case-insensitive on module.type', () => {
  const cur = [c('tasks', 'Payload', 5, 5000), c('builtins', 'dict', 50, 100)];
  assert.deepEqual(heapTable(cur, null, { sort: 'count', filter: '', growing: new Set() }).map(r => [r.type, r.delta]), [['dict', 0], ['Payload', 0]]);
  assert.deepEqual(heapTable(cur, null, { sort: 'size', filter: '', growing: new Set() }).map(r => r.type), ['Payload', 'dict']);
  assert.deepEqual(heapTable(cur, null, { sort: 'size', filter: 'TASKS.', growing: new Set() }).map(r => r.type), ['Payload']);
});

test('same qualname in two modules stays apart; duplicate rows of one key are summed', () => {
  assert.notEqual(typeKey(c('a', 'X', 1)), typeKey(c('b', 'X', 1)));
  const idx = indexCounts([c('a', 'X', 1), c('a', 'X', 2)]);
  assert.equal(idx.get('a.X')?.count, 3);
});

test('labels: qualified only where a qualname repeats; the filter matches what is shown (or a dotted qualified name)', () => {
  const cur = [c('builtins', 'property', 40), c('functools', 'property', 2), c('string', 'Formatter', 1), c('builtins', 'str', 900), c('builtins', 'dict', 500), c('tasks', 'Payload', 7)];
  const opt = (filter: string) => ({ sort: 'count' as const, filter, growing: new Set<string>() });
  const labels = heapTable(cur, null, opt('')).map(r => r.label);
  assert.deepEqual(labels, ['str', 'dict', 'builtins.property', 'Payload', 'functools.property', 'Formatter']);
  assert.deepEqual(heapTable(cur, null, opt('str')).map(r => r.label), ['str'], 'the hidden module "string" does not match');
  assert.deepEqual(heapTable(cur, null, opt('builtins.dict')).map(r => r.label), ['dict']);
  assert.deepEqual(heapTable(cur, null, opt('tasks.pay')).map(r => r.label), ['Payload']);
  assert.deepEqual(heapTable(cur, null, opt('property')).map(r => r.label), ['builtins.property', 'functools.property']);
  assert.deepEqual(heapTable(cur, null, opt('nothing')), []);
});

test('retained sizes join by qualname; unknown, absent and ambiguous say why; sort by retained and by type both ways', () => {
  const cur = [{ ...c('tasks', 'Payload', 10, 560), sizeSampled: false }, { ...c('builtins', 'dict', 50, 9000), sizeSampled: true }, c('a', 'X', 1), c('b', 'X', 1), c('app', 'Fresh', 2)];
  const none = heapTable(cur, null, { sort: 'count', filter: '', growing: new Set() });
  assert.ok(none.every(r => !r.retained.known && r.retained.why === 'no-snapshot'));
  assert.equal(none.find(r => r.type === 'dict')?.sizeSampled, true);
  const retained = retainedSizesOf([
    { className: 'Payload', count: 10, selfSize: 560, retainedSize: 2_200_000 },
    { className: 'dict', count: 60, selfSize: 9600, retainedSize: 40_000 },
    { className: 'X', count: 2, selfSize: 80, retainedSize: 80 },
  ], 1000, 'Show Retainers of Payload');
  const rows = heapTable(cur, null, { sort: 'retained', filter: '', growing: new Set(), retained });
  assert.deepEqual(rows.slice(0, 2).map(r => r.type), ['Payload', 'dict']);
  assert.deepEqual(rows[0].retained, { known: true, bytes: 2_200_000, count: 10, at: 1000, origin: 'Show Retainers of Payload' });
  assert.deepEqual(rows.find(r => r.key === 'a.X')?.retained, { known: false, why: 'ambiguous', at: 1000 });
  assert.deepEqual(rows.find(r => r.type === 'Fresh')?.retained, { known: false, why: 'not-in-snapshot', at: 1000 });
  const asc = heapTable(cur, null, { sort: 'retained', direction: 'asc', filter: '', growing: new Set(), retained });
  assert.equal(asc[asc.length - 1].type, 'Payload');
  assert.deepEqual(heapTable(cur, null, { sort: 'type', filter: '', growing: new Set() }).map(r => r.label), ['a.X', 'b.X', 'dict', 'Fresh', 'Payload']);
  assert.equal(heapTable(cur, null, { sort: 'type', direction: 'desc', filter: '', growing: new Set() })[0].label, 'Payload');
});

test('retained of functions comes from the snapshot\'s "(closure)" group; `type` has no figure when classes are named one by one', () => {
  const r = retainedSizesOf([{ className: '(closure)', count: 900, selfSize: 1000, retainedSize: 5000 }, { className: 'class Payload', count: 1, selfSize: 900, retainedSize: 2000 }], 1, 'Take Heap Snapshot');
  const rows = heapTable([c('builtins', 'function', 900), c('builtins', 'type', 400)], null, { sort: 'count', filter: '', growing: new Set(), retained: r });
  assert.deepEqual(rows.map(x => [x.type, x.retained.known ? x.retained.bytes : x.retained.why]), [['function', 5000], ['type', 'named-individually']]);
});
