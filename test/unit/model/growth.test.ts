import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findGrowthSuspects, CountSample } from '../../../src/model/growth';

function series(rows: Record<string, number[]>): CountSample[] {
  const n = Object.values(rows)[0].length;
  return Array.from({ length: n }, (_, i) => ({ timestamp: i * 2, counts: new Map(Object.entries(rows).map(([k, v]) => [k, v[i]])) }));
}

test('steady growth ranks first; spikes, rise-and-fall and flat types are dropped', () => {
  const s = series({
    Payload: [100, 300, 500, 700, 900],          // the leak
    Slow: [50, 70, 90, 110, 130],                // a slower leak
    Spike: [100, 100, 5000, 100, 120],           // one-off spike
    Wave: [100, 900, 1500, 900, 150],            // rises then falls
    Step: [100, 100, 2000, 2005, 2010],          // one jump, then flat (warm-up cache)
    Flat: [1000, 1003, 998, 1001, 1000],
    Shrink: [500, 400, 300, 200, 100],
  });
  const out = findGrowthSuspects(s);
  assert.deepEqual(out.map(x => x.type), ['Payload', 'Slow']);
  assert.equal(out[0].delta, 800);
  assert.equal(out[0].count, 900);
  assert.equal(out[0].ratePerSecond, 100);
  assert.equal(out[0].consistency, 1);
});

test('user types come before builtins that grow alongside them', () => {
  const s = series({ '(string)': [0, 4000, 8000], Payload: [0, 2000, 4000], dict: [10, 3000, 6000] });
  assert.deepEqual(findGrowthSuspects(s).map(x => x.type), ['Payload', '(string)', 'dict']);
});

test('two samples: growth above the threshold, ranked by delta', () => {
  const s = series({ A: [0, 50], B: [10, 500], C: [5, 9] });
  assert.deepEqual(findGrowthSuspects(s).map(x => x.type), ['B', 'A']);
  assert.deepEqual(findGrowthSuspects(s.slice(0, 1)), []);
});

test('a type missing from early samples counts from zero', () => {
  const s: CountSample[] = [
    { timestamp: 0, counts: new Map([['Other', 1]]) },
    { timestamp: 1, counts: new Map([['New', 40]]) },
    { timestamp: 2, counts: new Map([['New', 80]]) },
  ];
  assert.deepEqual(findGrowthSuspects(s).map(x => [x.type, x.delta]), [['New', 80]]);
});
