import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { heapTable, indexCounts, typeKey } from '../../../src/model/heapTable';

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
