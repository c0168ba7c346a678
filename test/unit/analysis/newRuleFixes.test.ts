// The quick fixes of the issue-18 rules, each applied to the realworld corpus: the edit parses,
// says what it should (on_commit, incr/add, get_or_create, a manager lock, a longer lock
// timeout), the finding is gone and no other finding appears.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_EXCLUDE } from '../../../src/analysis/exclude';
import { lintFiles, listPythonFiles } from '../../../src/analysis/project';
import { PythonParser } from '../../../src/analysis/python';
import { applyEdits } from './applyEdits';

const dir = path.resolve(__dirname, '../../../../test/fixtures/races/realworld');

const CASES: { file: string; line: string; rule: string; title: RegExp; result: RegExp }[] = [
  { file: 'django_cache.py', line: 'cache.set(f"hits:{page}", hits + 1)', rule: 'WL107', title: /add.*incr/, result: /cache\.add\(f"hits:\{page\}", 0\)\n {4}cache\.incr\(f"hits:\{page\}"\)/ },
  { file: 'django_cache.py', line: 'cache.set(f"lock:{job_id}", True, 60)', rule: 'WL107', title: /add/, result: /if cache\.add\(f"lock:\{job_id\}", True, 60\):\n {8}compute_report\(job_id\)/ },
  { file: 'orm_helpers.py', line: 'Tag.objects.create(name=name, color=color)', rule: 'WL108', title: /get_or_create/, result: /\n {4}Tag\.objects\.get_or_create\(name=name, defaults=\{"color": color\}\)\n/ },
  { file: 'manager_proxy.py', line: 'counts[key] = counts.get(key, 0) + 1  # expect', rule: 'WL109', title: /counts_lock.*manager/, result: /def count\(key\):\n {4}with counts_lock:\n {8}counts\[key\] = counts\.get\(key, 0\) \+ 1/ },
  { file: 'manager_proxy.py', line: 'totals[key] = 0', rule: 'WL109', title: /counts_lock/, result: /with counts_lock:\n {8}if key not in totals:\n {12}totals\[key\] = 0/ },
  { file: 'celery_semantics.py', line: 'notify.delay(order_id)  # expect', rule: 'WL110', title: /on_commit/, result: /transaction\.on_commit\(lambda: notify\.delay\(order_id\)\)  # expect/ },
  { file: 'celery_semantics.py', line: 'countdown=5)  # expect', rule: 'WL110', title: /on_commit/, result: /import functools\n[\s\S]*transaction\.on_commit\(functools\.partial\(notify\.apply_async, args=\[i\], countdown=5\)\)/ },
  { file: 'celery_semantics.py', line: 'timeout=LOCK_SECONDS', rule: 'WL111', title: /time limit \(300 s\)/, result: /r\.lock\(f"rebuild:\{key\}", timeout=300\)/ },
  { file: 'celery_semantics.py', line: 'cache.add(f"rebuild:{key}", 1, 120)', rule: 'WL111', title: /300 s/, result: /cache\.add\(f"rebuild:\{key\}", 1, 300\)/ },
];

test('quick fixes of the new rules: on_commit, incr/add, get_or_create, manager lock, lock timeout', async () => {
  const files = listPythonFiles([dir], { exclude: DEFAULT_EXCLUDE });
  const texts = new Map(files.map(f => [f, fs.readFileSync(f, 'utf8')]));
  const before = await lintFiles(files, {}, new Map(texts));
  const parser = await PythonParser.create();
  try {
    for (const c of CASES) {
      const file = path.join(dir, c.file);
      const text = texts.get(file)!;
      const lineNo = text.split('\n').findIndex(l => l.includes(c.line));
      assert.ok(lineNo >= 0, `${c.file}: line ${c.line}`);
      const r = before.find(x => x.path === file)!;
      const finding = r.findings.find(f => f.rule === c.rule && f.range.start.line === lineNo);
      assert.ok(finding, `${c.file}:${lineNo + 1} has ${c.rule}: ${r.findings.map(f => `${f.rule}@${f.range.start.line + 1}`).join(' ')}`);
      const fix = finding.fixes.find(x => c.title.test(x.title));
      assert.ok(fix, `${c.rule} fix matching ${c.title} among: ${finding.fixes.map(x => x.title).join(' | ')}`);
      assert.equal(fix.preferred, true, `${fix.title} is the preferred fix`);
      const edited = applyEdits(text, fix.edits);
      const tree = parser.parse(edited);
      assert.equal(tree.rootNode.hasError, false, `${fix.title} parses:\n${edited}`);
      tree.delete();
      assert.match(edited, c.result, `${fix.title} writes the expected code`);
      const after = (await lintFiles(files, {}, new Map([...texts, [file, edited]]))).find(x => x.path === file)!;
      const same = (x: { rule: string; state: string }) => x.rule === c.rule && x.state === finding.state;
      assert.ok(after.findings.filter(same).length < r.findings.filter(same).length, `${fix.title}: ${c.rule} gone`);
      assert.equal(after.findings.length, r.findings.length - 1, `${fix.title}: no new finding (${after.findings.map(f => `${f.rule}@${f.range.start.line + 1}`).join(' ')})`);
      console.log(`fixed ${c.rule} ${c.file}:${lineNo + 1} with "${fix.title}"`);
    }
  } finally {
    parser.dispose();
  }
});

test('WL110 also offers delay_on_commit / apply_async_on_commit', async () => {
  const file = path.join(dir, 'celery_semantics.py');
  const [r] = await lintFiles([file, path.join(dir, 'celeryconfig.py')]);
  const titles = r.findings.filter(f => f.rule === 'WL110').map(f => f.fixes.map(x => x.title).join(' | '));
  assert.match(titles[0], /delay_on_commit/);
  assert.match(titles[1], /apply_async_on_commit/);
});

test('a cache fill gets a setdefault fix first: computed outside any lock, first writer wins', async () => {
  const file = path.resolve(dir, '../cache_checks.py');
  const text = fs.readFileSync(file, 'utf8');
  const [r] = await lintFiles([file], {}, new Map([[file, text]]));
  const line = text.split('\n').findIndex(l => l.includes('_prices[sku] = _load_price(sku)  # expect'));
  const f = r.findings.find(x => x.rule === 'WL102' && x.range.start.line === line)!;
  const fix = f.fixes[0];
  assert.match(fix.title, /setdefault.*compute outside any lock/);
  assert.equal(fix.preferred, true);
  assert.ok(f.fixes.some(x => /^Wrap in `with _prices_lock:`/.test(x.title)), 'the lock stays offered');
  const edited = applyEdits(text, fix.edits);
  assert.match(edited, /if sku not in _prices:\n {8}_prices\.setdefault\(sku, _load_price\(sku\)\)  # expect/);
  const [after] = await lintFiles([file], {}, new Map([[file, edited]]));
  assert.ok(!after.findings.some(x => x.range.start.line === line), 'finding gone');
  assert.equal(after.findings.length, r.findings.length - 1, 'no new finding');
});
