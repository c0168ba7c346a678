// Scores the analysis on test/fixtures/races: every `# expect: WL1xx` line must be flagged with
// that rule, and nothing else may be. Prints precision and recall.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { listPythonFiles, lintFiles } from '../../../src/analysis/project';

const root = path.resolve(__dirname, '../../../..');
const corpus = path.join(root, 'test/fixtures/races');

test('race corpus: exact expected findings, precision and recall', async () => {
  const files = listPythonFiles([corpus]);
  assert.ok(files.length >= 10, 'corpus present');
  const expected = new Set<string>();
  for (const f of files) {
    fs.readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
      const m = /# expect: (WL\d{3})/.exec(line);
      if (m) expected.add(`${path.relative(corpus, f)}:${i + 1} ${m[1]}`);
    });
  }
  const results = await lintFiles(files);
  const actual = new Set<string>();
  for (const r of results) {
    assert.equal(r.error, undefined, `${r.path}: ${r.error}`);
    for (const x of r.findings) actual.add(`${path.relative(corpus, r.path)}:${x.range.start.line + 1} ${x.rule}`);
  }
  const tp = [...actual].filter(a => expected.has(a)).length;
  const fp = [...actual].filter(a => !expected.has(a));
  const fn = [...expected].filter(e => !actual.has(e));
  const precision = actual.size ? tp / actual.size : 1, recall = expected.size ? tp / expected.size : 1;
  console.log(`race corpus: ${files.length} files, ${expected.size} expected, ${actual.size} found, precision ${(precision * 100).toFixed(1)}%, recall ${(recall * 100).toFixed(1)}%`);
  assert.deepEqual({ falsePositives: fp, missed: fn }, { falsePositives: [], missed: [] });
});
