import { test } from 'node:test';
import assert from 'node:assert/strict';
import { biggestParts, shortPartName } from '../../../src/model/memoryPartNames';

test('the biggest measured parts first, with short names; unmeasured and empty parts left out', () => {
  const mb = (n: number) => `${n / 1e6} MB`;
  const parts = [{ key: 'fileBacked', bytes: 12e6 }, { key: 'pythonTracked', bytes: 10e6 }, { key: 'nativeOther', bytes: 80e6 },
    { key: 'mallocFree', bytes: null }, { key: 'allocatorOverhead', bytes: 0 }];
  assert.equal(biggestParts(parts, 2, mb), 'native 80 MB, files 12 MB');
  assert.equal(biggestParts([], 2, mb), '');
  assert.equal(shortPartName('mallocFree'), 'free in malloc');
  assert.equal(shortPartName('somethingNew'), 'somethingNew');  // a newer agent's part: its key, not nothing
});
