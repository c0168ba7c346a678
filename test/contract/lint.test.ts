// `workerlens lint`: exit codes, text/JSON/SARIF output on the race corpus, in-process via main()
// and once as a real `node dist/cli.js` subprocess.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main';

const root = path.resolve(__dirname, '../../..');

async function cli(args: string[], cwd = root): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await main(args, { stdout: t => { out += t; }, stderr: t => { err += t; }, cwd });
  return { code, out, err };
}

test('text: findings exit 1 with path:line:col, clean code exits 0', async () => {
  const r = await cli(['lint', 'examples/celery-leaky']);
  assert.equal(r.code, 1);
  assert.match(r.out, /^examples\/celery-leaky\/tasks\.py:53:5: WL101 Read-modify-write of module global `processed_count`/m);
  assert.match(r.out, /tasks\.py:69:9: WL102 Check-then-act on `_price_cache\[sku\]`/);
  assert.match(r.out, /2 race risks in 1 file/);
  const clean = await cli(['lint', 'test/fixtures/races/no_concurrency.py']);
  assert.equal(clean.code, 0);
  assert.match(clean.out, /0 race risks/);
  const off = await cli(['lint', '--disable', 'WL101,WL102', 'examples/celery-leaky/tasks.py']);
  assert.equal(off.code, 0);
});

test('usage errors exit 2 with one line naming the problem', async () => {
  for (const [args, msg] of [[['lint'], /no PATH given/], [['lint', '--format', 'xml', 'x'], /unknown format 'xml'/],
    [['lint', 'does/not/exist'], /no such file or directory: does\/not\/exist/], [['lint', '--bogus', '.'], /unknown option '--bogus'/],
    [['lint', '--disable', 'WL999', '.'], /unknown rule 'WL999'/], [['lint', '--format'], /--format needs a value/]] as [string[], RegExp][]) {
    const r = await cli(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err.split('\n')[0], msg);
  }
});

test('json lists every corpus finding with 1-based positions and related locations', async () => {
  const r = await cli(['lint', '--format=json', 'test/fixtures/races']);
  assert.equal(r.code, 1);
  const j = JSON.parse(r.out) as { findings: { path: string; rule: string; line: number; column: number; related: { line: number }[]; helpUri: string }[]; filesChecked: number };
  // 12 original files + 13 in realworld/ (its conftest.py and tests/ are excluded by default).
  assert.equal(j.filesChecked, 25);
  assert.equal(j.findings.length, 37 + 29);
  const count = j.findings.find(f => f.path === 'test/fixtures/races/celery_counters.py' && f.line === 46)!;
  assert.equal(count.rule, 'WL101');
  assert.equal(count.column, 5);
  assert.match(count.helpUri, /#wl101-/);
  const price = j.findings.find(f => f.path === 'test/fixtures/races/cache_checks.py' && f.line === 27)!;
  assert.equal(price.rule, 'WL102');
  assert.equal(price.related[0].line, 26);
});

test('sarif 2.1.0: rules with help text, relative URIs, 1-based regions, related locations', async () => {
  const r = await cli(['lint', '--format', 'sarif', 'test/fixtures/races', 'examples/celery-leaky']);
  assert.equal(r.code, 1);
  const s = JSON.parse(r.out);
  assert.equal(s.version, '2.1.0');
  assert.match(s.$schema, /sarif-2\.1\.0/);
  const run = s.runs[0];
  assert.equal(run.tool.driver.name, 'Worker Lens');
  const ids = run.tool.driver.rules.map((x: { id: string }) => x.id);
  assert.deepEqual(ids, ['WL101', 'WL102', 'WL103', 'WL104', 'WL105', 'WL106', 'WL107', 'WL108', 'WL109', 'WL110', 'WL111', 'WL112', 'WL113']);
  for (const rule of run.tool.driver.rules) {
    assert.ok(rule.shortDescription.text && rule.fullDescription.text && rule.help.text, rule.id);
    assert.match(rule.help.text, /README\.md#wl1\d\d-/);
  }
  assert.equal(run.originalUriBaseIds['%SRCROOT%'].uri, `file://${root}/`);
  assert.equal(run.results.length, 37 + 29 + 2);
  const res = run.results.find((x: { locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[] }) =>
    x.locations[0].physicalLocation.artifactLocation.uri === 'examples/celery-leaky/tasks.py' && x.locations[0].physicalLocation.region.startLine === 53);
  assert.ok(res, 'tasks.py:53 result');
  assert.equal(res.ruleId, 'WL101');
  assert.equal(ids[res.ruleIndex], 'WL101');
  assert.equal(res.level, 'warning');
  assert.deepEqual(res.locations[0].physicalLocation.region, { startLine: 53, startColumn: 5, endLine: 53, endColumn: 25 });
  assert.equal(res.locations[0].physicalLocation.artifactLocation.uriBaseId, '%SRCROOT%');
  assert.ok(res.relatedLocations[0].physicalLocation.region.startLine >= 1);
  assert.ok(Object.values(res.partialFingerprints)[0]);
  for (const x of run.results) {
    const loc = x.locations[0].physicalLocation;
    assert.ok(!loc.artifactLocation.uri.startsWith('/') && !loc.artifactLocation.uri.includes('\\'), loc.artifactLocation.uri);
    assert.ok(loc.region.startLine >= 1 && loc.region.startColumn >= 1 && loc.region.endLine >= loc.region.startLine);
  }
});

test('real subprocess: node dist/cli.js lint --format sarif --output', () => {
  const cliJs = path.join(root, 'dist/cli.js');
  if (!fs.existsSync(cliJs) || !fs.existsSync(path.join(root, 'dist/tree-sitter-python.wasm'))) execFileSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-lint-'));
  try {
    const sarifPath = path.join(tmp, 'out.sarif');
    const r = spawnSync(process.execPath, [cliJs, 'lint', '--format', 'sarif', '--output', sarifPath, 'examples/celery-leaky'], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /2 finding\(s\); sarif report written/);
    const s = JSON.parse(fs.readFileSync(sarifPath, 'utf8'));
    assert.deepEqual(s.runs[0].results.map((x: { ruleId: string }) => x.ruleId), ['WL101', 'WL102']);
    const bad = spawnSync(process.execPath, [cliJs, 'lint', '--format', 'yaml', '.'], { cwd: root, encoding: 'utf8' });
    assert.equal(bad.status, 2);
    const help = spawnSync(process.execPath, [cliJs, 'lint', '--help'], { cwd: root, encoding: 'utf8' });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--format text\|json\|sarif/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
