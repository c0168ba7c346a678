// Every quick fix on the corpus and the example app: the edited file parses and the finding is gone.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { lintFiles, listPythonFiles } from '../../../src/analysis/project';
import { PythonParser } from '../../../src/analysis/python';
import { applyEdits } from './applyEdits';

const root = path.resolve(__dirname, '../../../..');

test('each quick fix yields code that parses and is no longer flagged', async () => {
  const files = [...listPythonFiles([path.join(root, 'test/fixtures/races')]), path.join(root, 'examples/celery-leaky/tasks.py')];
  const texts = new Map(files.map(f => [f, fs.readFileSync(f, 'utf8')]));
  const before = await lintFiles(files, {}, new Map(texts));
  const parser = await PythonParser.create();
  let checked = 0;
  const kinds = new Set<string>();
  try {
    for (const r of before) {
      for (const finding of r.findings) {
        assert.ok(finding.fixes.length >= 1, `${r.path}: ${finding.rule} has a fix`);
        for (const fix of finding.fixes) {
          const edited = applyEdits(texts.get(r.path)!, fix.edits);
          const tree = parser.parse(edited);
          const broken = tree.rootNode.hasError;
          tree.delete();
          assert.equal(broken, false, `${path.basename(r.path)}:${finding.range.start.line + 1} "${fix.title}" breaks the syntax:\n${edited}`);
          // Re-lint the file with its package (cross-module callers), not the whole corpus: keeps the suite quick.
          const pkg = fs.existsSync(path.join(path.dirname(r.path), '__init__.py')) ? files.filter(f => path.dirname(f) === path.dirname(r.path)) : [r.path];
          const after = await lintFiles(pkg, {}, new Map([...texts, [r.path, edited]]));
          const same = (x: { rule: string; state: string }) => x.rule === finding.rule && x.state === finding.state;
          const n0 = r.findings.filter(same).length;
          const n1 = after.find(a => a.path === r.path)!.findings.filter(same).length;
          assert.ok(n1 < n0, `${path.basename(r.path)}:${finding.range.start.line + 1} "${fix.title}" leaves ${finding.rule} on ${finding.state}`);
          assert.ok(after.find(a => a.path === r.path)!.findings.length < r.findings.length, `"${fix.title}" adds no new finding`);
          checked++;
          kinds.add(fix.title.replace(/`[^`]*`/g, '').split(' ')[0]);
        }
      }
    }
  } finally {
    parser.dispose();
  }
  console.log(`quick fixes checked: ${checked} (${[...kinds].join(', ')})`);
  assert.ok(checked >= 60);
});
