import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { allocationSites, compareAllocations, SamplingHeapProfile } from '../../../src/model/allocations';

const frame = (url: string, line: number, fn = 'f') => ({ functionName: fn, url, lineNumber: line, columnNumber: 0 });
function profile(leakBytes: number): SamplingHeapProfile {
  return {
    head: { callFrame: frame('', 0, '(root)'), selfSize: 0, id: 1, children: [
      { callFrame: frame('/app/tasks.py', 40, 'leak'), selfSize: 0, id: 2, children: [
        { callFrame: frame('/app/tasks.py', 33, '__init__'), selfSize: leakBytes, id: 3, children: [] },
      ] },
      { callFrame: frame('/app/other.py', 5, 'g'), selfSize: 100, id: 4, children: [] },
      // the same line reached through another stack adds up
      { callFrame: frame('/app/tasks.py', 33, '__init__'), selfSize: 10, id: 5, children: [] },
    ] },
    samples: [{ size: leakBytes, nodeId: 3, ordinal: 1, count: 7 }, { size: 100, nodeId: 4, ordinal: 2 }, { size: 10, nodeId: 5, ordinal: 3 }],
  };
}

test('bytes and blocks per allocating line; the innermost frame owns the size', () => {
  const sites = allocationSites(profile(1000));
  assert.deepEqual([...sites.keys()].sort(), ['/app/other.py:5', '/app/tasks.py:33']);
  const t = sites.get('/app/tasks.py:33')!;
  assert.equal(t.bytes, 1010);
  assert.equal(t.blocks, 8);
  assert.equal(t.lineNumber, 33);
});

test('growth since the baseline ranks the leaking line first', () => {
  const base = allocationSites(profile(1000));
  const now = allocationSites(profile(50000));
  const rows = compareAllocations(now, base, 'growth');
  assert.equal(rows[0].key, '/app/tasks.py:33');
  assert.equal(rows[0].bytesDelta, 49000);
  assert.equal(rows[1].bytesDelta, 0);
  assert.deepEqual(compareAllocations(now, null, 'bytes').map(r => r.bytesDelta), [50010, 100]);
});
