import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RssHistory, fastestGrowing, isMaterial } from '../../../src/model/rssTrend';

const MB = 1024 * 1024;

test('two children of the same size: the one whose RSS rises is named, page noise is not growth', () => {
  const h = new RssHistory(60_000);
  const a = { pid: 11, rssBytes: 39 * MB }, b = { pid: 12, rssBytes: 39 * MB };
  for (let i = 0; i <= 30; i++) {
    a.rssBytes = 39 * MB + i * 0.4 * MB;                 // the leak: +12 MB in a minute
    b.rssBytes = 39 * MB + (i % 2) * 64 * 1024;          // noise: one 64 KB page group up and down
    h.record(i * 2000, [a, b]);
  }
  assert.equal(fastestGrowing([a, b], h)?.pid, 11);
  assert.ok(Math.abs(h.trend(11)!.growth - 12 * MB) < 1);
  assert.equal(isMaterial(h.trend(12), b.rssBytes), false);
  assert.equal(fastestGrowing([b], h), undefined, 'a flat worker has no fastest-growing child');
});

test('the window slides and exited processes are forgotten', () => {
  const h = new RssHistory(10_000);
  for (let i = 0; i <= 10; i++) h.record(i * 2000, [{ pid: 1, rssBytes: i * MB }]);
  const t = h.trend(1)!;
  assert.ok(t.spanMs <= 12_000 && t.spanMs >= 10_000, `span ${t.spanMs}`);
  assert.equal(t.growth, (10 - (10 - t.spanMs / 2000)) * MB);
  h.record(30_000, [{ pid: 2, rssBytes: MB }]);
  assert.equal(h.trend(1), undefined);
  assert.equal(h.trend(2), undefined, 'one sample is no trend');
});
