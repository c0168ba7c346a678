import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeBreakdownFromUsage } from '../../../src/cdp/nodeMemory';
import { parseHeapArgs } from '../../../src/cli/heapArgs';

const MB = 1024 * 1024;

test('Node breakdown: parts add up to RSS, each with its source; no arrayBuffers says why', () => {
  const b = nodeBreakdownFromUsage({ pid: 7, rss: 100 * MB, heapTotal: 40 * MB, heapUsed: 30 * MB, external: 12 * MB, arrayBuffers: 8 * MB }, 1);
  assert.deepEqual(b.parts.map(p => [p.key, p.bytes! / MB, p.how]), [
    ['jsHeapUsed', 30, 'exact'], ['jsHeapFree', 10, 'exact'], ['external', 4, 'exact'], ['arrayBuffers', 8, 'exact'], ['nativeOther', 48, 'estimated']]);
  assert.equal(b.parts.reduce((a, p) => a + (p.bytes ?? 0), 0), b.rssBytes);
  const old = nodeBreakdownFromUsage({ pid: 7, rss: 100 * MB, heapTotal: 40 * MB, heapUsed: 30 * MB, external: 12 * MB });
  const ab = old.parts.find(p => p.key === 'arrayBuffers')!;
  assert.equal(ab.how, 'unavailable');
  assert.match(ab.reason!, /arrayBuffers/);
});

test('heap --trim goes with a live worker only', () => {
  assert.equal(parseHeapArgs(['--pid', '5', '--trim']).trim, true);
  assert.equal(parseHeapArgs(['--pid', '5']).trim, false);
  assert.throws(() => parseHeapArgs(['a.heapsnapshot', '--trim']), /--trim goes with --pid or --connect/);
});
