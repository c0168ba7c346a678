// Scores the analysis on test/fixtures/races: every `# expect: WL1xx` line must be flagged with
// that rule, and nothing else may be. Prints precision and recall for the original corpus and for
// realworld/ (the shapes found in real code, issue 18) separately, then requires the exact set.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_EXCLUDE } from '../../../src/analysis/exclude';
import { listPythonFiles, lintFiles } from '../../../src/analysis/project';

const root = path.resolve(__dirname, '../../../..');
const corpus = path.join(root, 'test/fixtures/races');

test('race corpus: exact expected findings, precision and recall', async () => {
  const excluded: string[] = [];
  const files = listPythonFiles([corpus], { exclude: DEFAULT_EXCLUDE, excluded });
  assert.ok(files.length >= 20, 'corpus present');
  // Test code in the corpus is left out by the default excludes (and holds races that would be flagged).
  assert.deepEqual(excluded.map(e => path.relative(corpus, e)).sort(), ['realworld/conftest.py', 'realworld/tests']);
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
  const score = (part: (k: string) => boolean, label: string) => {
    const exp = [...expected].filter(part), act = [...actual].filter(part);
    const tp = act.filter(a => expected.has(a)).length;
    const precision = act.length ? tp / act.length : 1, recall = exp.length ? tp / exp.length : 1;
    const rules = [...new Set(exp.map(e => e.split(' ')[1]))].sort();
    console.log(`race corpus ${label}: ${files.filter(f => part(path.relative(corpus, f))).length} files, ${exp.length} expected (${rules.join(' ')}), ${act.length} found, precision ${(precision * 100).toFixed(1)}%, recall ${(recall * 100).toFixed(1)}%`);
    return { precision, recall };
  };
  const original = score(k => !k.startsWith('realworld/'), 'original');
  const real = score(k => k.startsWith('realworld/'), 'realworld/');
  const fp = [...actual].filter(a => !expected.has(a));
  const fn = [...expected].filter(e => !actual.has(e));
  assert.deepEqual({ falsePositives: fp, missed: fn }, { falsePositives: [], missed: [] });
  for (const s of [original, real]) assert.ok(s.precision >= 0.9 && s.recall >= 0.9);
});

test('the realworld corpus covers every rule', () => {
  const text = listPythonFiles([path.join(corpus, 'realworld')], { exclude: DEFAULT_EXCLUDE }).map(f => fs.readFileSync(f, 'utf8')).join('\n');
  for (const rule of ['WL101', 'WL102', 'WL104', 'WL105', 'WL107', 'WL108', 'WL109', 'WL110', 'WL111', 'WL112', 'WL113']) {
    assert.match(text, new RegExp(`# expect: ${rule}`), `${rule} has an expected finding in realworld/`);
  }
});
