// `workerlens lint` on files real trees contain: UTF-16 / BOM / PEP 263 / CR-only sources, symbolic
// links (and a link loop), a file with a syntax error, test code excluded by default, and
// `--output` into a folder that does not exist.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { main } from '../../src/cli/main';

const RACE = 'import threading\ncount = 0\n\ndef work():\n    global count\n    count += 1\n\nthreading.Thread(target=work).start()\n';
let tmp: string;

async function cli(args: string[], cwd = tmp): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await main(args, { stdout: t => { out += t; }, stderr: t => { err += t; }, cwd });
  return { code, out, err };
}

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-lint-robust-'));
  const src = path.join(tmp, 'src');
  fs.mkdirSync(src);
  // UTF-16 LE with BOM, CR-only line ends, latin-1 with a coding cookie, UTF-8 with BOM.
  fs.writeFileSync(path.join(src, 'utf16.py'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(RACE, 'utf16le')]));
  fs.writeFileSync(path.join(src, 'cr_only.py'), RACE.replace(/\n/g, '\r'));
  fs.writeFileSync(path.join(src, 'latin1.py'), Buffer.from(`# -*- coding: latin-1 -*-\n# caf\xe9\n${RACE}`, 'latin1'));
  fs.writeFileSync(path.join(src, 'bom.py'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(RACE)]));
  fs.writeFileSync(path.join(src, 'broken.py'), `${RACE}\ndef broken(:\n    pass\n`);
  // A linked directory outside the tree, a linked file, and a loop back to the root.
  const outside = path.join(tmp, 'outside');
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'linked_target.py'), RACE);
  fs.symlinkSync(outside, path.join(src, 'linked_dir'));
  fs.symlinkSync(path.join(outside, 'linked_target.py'), path.join(src, 'linked_file.py'));
  fs.symlinkSync(src, path.join(src, 'loop'));
  fs.symlinkSync(path.join(tmp, 'missing.py'), path.join(src, 'dangling.py'));
  // Test code.
  fs.mkdirSync(path.join(src, 'tests'));
  fs.writeFileSync(path.join(src, 'tests', 'test_work.py'), RACE);
  fs.writeFileSync(path.join(src, 'conftest.py'), RACE);
  fs.writeFileSync(path.join(src, 'test_more.py'), RACE);
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('UTF-16, BOM, PEP 263 and CR-only files are decoded and analysed at the right lines', async () => {
  const r = await cli(['lint', 'src/utf16.py', 'src/cr_only.py', 'src/latin1.py', 'src/bom.py']);
  assert.equal(r.code, 1);
  for (const [f, line] of [['utf16.py', 6], ['cr_only.py', 6], ['latin1.py', 8], ['bom.py', 6]] as const) {
    assert.match(r.out, new RegExp(`^src/${f.replace('.', '\\.')}:${line}:5: WL101 Read-modify-write of module global \`count\``, 'm'), f);
  }
  assert.match(r.out, /src\/utf16\.py: note: decoded as UTF-16 LE with BOM .*CPython only runs UTF-8/);
  assert.match(r.out, /src\/cr_only\.py: note: decoded as CR line ends/);
  assert.match(r.out, /src\/latin1\.py: note: decoded as latin-1 \(PEP 263 coding cookie\)/);
  assert.match(r.out, /4 race risks in 4 files/);
});

test('symbolic links are followed once (no loop, no duplicate), dangling ones skipped', async () => {
  const r = await cli(['lint', '--format', 'json', '--exclude', 'broken.py,tests/,test_*.py,conftest.py,utf16.py,cr_only.py,latin1.py,bom.py', 'src']);
  const j = JSON.parse(r.out) as { findings: { path: string }[]; filesChecked: number; errors: unknown[] };
  // linked_dir/linked_target.py and linked_file.py are the same file: listed once. `loop` is src again.
  assert.deepEqual(j.findings.map(f => f.path).sort(), ['src/linked_dir/linked_target.py']);
  assert.equal(j.filesChecked, 1);
  assert.deepEqual(j.errors, []);
});

test('a file with a syntax error: findings kept, named in the summary and in JSON', async () => {
  const r = await cli(['lint', 'src/broken.py']);
  assert.equal(r.code, 1);
  assert.match(r.out, /^src\/broken\.py:6:5: WL101/m);
  assert.match(r.out, /^src\/broken\.py:10:\d+: note: syntax error — the parser recovered and analysed the rest, but findings in this file may be incomplete$/m);
  assert.match(r.out, /1 file could not be parsed completely/);
  const j = JSON.parse((await cli(['lint', '--format', 'json', 'src/broken.py'])).out) as { unparsable: { path: string; line: number }[] };
  assert.deepEqual(j.unparsable.map(u => [u.path, u.line]), [['src/broken.py', 10]]);
});

test('test code is excluded by default; --exclude changes it; named files are never excluded', async () => {
  const r = await cli(['lint', '--format', 'json', 'src']);
  const j = JSON.parse(r.out) as { findings: { path: string }[]; filesExcluded: number };
  assert.ok(!j.findings.some(f => /tests\/|conftest|test_more/.test(f.path)), JSON.stringify(j.findings.map(f => f.path)));
  assert.equal(j.filesExcluded, 3);
  const text = await cli(['lint', 'src']);
  assert.match(text.out, /3 test files\/folders excluded by --exclude tests\/,test_\*\.py,\*_test\.py,conftest\.py; --exclude '' includes them/);
  const all = JSON.parse((await cli(['lint', '--format', 'json', '--exclude', '', 'src'])).out) as { findings: { path: string }[] };
  for (const f of ['src/tests/test_work.py', 'src/conftest.py', 'src/test_more.py']) assert.ok(all.findings.some(x => x.path === f), f);
  const named = await cli(['lint', 'src/conftest.py']);
  assert.match(named.out, /^src\/conftest\.py:6:5: WL101/m);
});

test('--output into a missing folder exits 2 with a clear message and writes nothing', async () => {
  const r = await cli(['lint', '--output', 'nope/report.sarif', '--format', 'sarif', 'src/bom.py']);
  assert.equal(r.code, 2);
  assert.match(r.err.split('\n')[0], /cannot write the report to nope\/report\.sarif: the folder nope does not exist \(create it first\)/);
  assert.equal(fs.existsSync(path.join(tmp, 'nope')), false);
});
