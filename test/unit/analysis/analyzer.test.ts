// ModuleAnalyzer behaviour: contexts, suppression, settings, per-function caching, syntax-error recovery.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ModuleAnalyzer, mayBeConcurrent } from '../../../src/analysis/analyzer';
import { lintFiles } from '../../../src/analysis/project';
import { PythonParser } from '../../../src/analysis/python';
import { ruleHelpUri } from '../../../src/analysis/rules';
import { TWO_RACES } from '../raceSnippets';

let parser: PythonParser;
before(async () => { parser = await PythonParser.create(); });
after(() => parser.dispose());

function lint(text: string, analyzer = new ModuleAnalyzer(), opts = {}) {
  const tree = parser.parse(text);
  try { return analyzer.analyze(tree, text, opts); } finally { tree.delete(); }
}

const TASKS = TWO_RACES;

test('flags a task read-modify-write and check-then-act with related information', () => {
  const r = lint(TASKS);
  assert.deepEqual(r.findings.map(f => [f.rule, f.range.start.line, f.related[0].range.start.line]), [['WL101', 7, 7], ['WL102', 12, 11]]);
  assert.match(r.findings[0].message, /module global `count`.*threads pool.*lose updates.*prefork.*own copy/);
  assert.match(r.findings[1].message, /`cache\[k\]`.*check on line 12/);
  assert.ok(ruleHelpUri('WL101').includes('#wl101-'));
});

test('same code with nothing concurrent is silent; mayBeConcurrent skips it', () => {
  const plain = TASKS.replace(/@shared_task\n/g, '').replace('from celery import shared_task\n', '');
  assert.equal(lint(plain).findings.length, 0);
  assert.equal(mayBeConcurrent(plain), false);
  assert.equal(mayBeConcurrent(TASKS), true);
});

test('suppression comments and disabled rules', () => {
  const suppressed = TASKS.replace('count += 1', 'count += 1  # workerlens: ignore[WL101]');
  assert.deepEqual(lint(suppressed).findings.map(f => f.rule), ['WL102']);
  const other = TASKS.replace('count += 1', 'count += 1  # workerlens: ignore[WL102]');
  assert.deepEqual(lint(other).findings.map(f => f.rule), ['WL101', 'WL102']);
  const all = TASKS.replace('count += 1', 'count += 1  # workerlens: ignore');
  assert.deepEqual(lint(all).findings.map(f => f.rule), ['WL102']);
  assert.deepEqual(lint(TASKS, new ModuleAnalyzer(), { disabledRules: ['WL102'] }).findings.map(f => f.rule), ['WL101']);
});

test('an edit re-walks only the changed function; moved functions keep findings at their new lines', () => {
  const a = new ModuleAnalyzer();
  lint(TASKS, a);
  assert.equal(a.walked, 2);
  const edited = TASKS.replace('cache[k] = v', 'cache[k] = v * 2');
  assert.equal(lint(edited, a).findings.length, 2);
  assert.equal(a.walked, 1);
  const shifted = '# header\n\n' + edited;
  const r = lint(shifted, a);
  assert.equal(a.walked, 0);
  assert.deepEqual(r.findings.map(f => f.range.start.line), [9, 14]);
});

test('a syntax error keeps findings of functions the parser lost', () => {
  const a = new ModuleAnalyzer();
  lint(TASKS, a);
  // An unclosed bracket pair in bump swallows the rest of the file.
  const broken = TASKS.replace('    count += 1\n', '    count += 1\n    x = {1: [\n');
  const r = lint(broken, a);
  assert.equal(r.hasSyntaxErrors, true);
  assert.deepEqual(r.findings.map(f => [f.rule, f.range.start.line]), [['WL101', 7], ['WL102', 13]]);
  // Without the last good analysis the parser alone loses `remember`.
  assert.ok(!lint(broken).findings.some(f => f.rule === 'WL102'));
});

test('threads, executors, async and call following', () => {
  const src = `import threading
from concurrent.futures import ThreadPoolExecutor
total = 0
seen = {}

def helper():
    global total
    total = total + 1

def worker():
    helper()

async def handler(k):
    v = seen.get(k, 0)
    await other()
    seen[k] = v + 1

async def quick(k):
    seen[k] = seen.get(k, 0) + 1

threading.Thread(target=worker).start()
`;
  const r = lint(src);
  assert.deepEqual(r.findings.map(f => [f.rule, f.functionName]), [['WL101', 'helper'], ['WL101', 'handler']]);
  assert.match(r.findings[0].message, /threads running `worker`/);
  assert.match(r.findings[1].message, /await on line 15/);
});

test('lock protection and split lock regions', () => {
  const src = `import threading
from celery import shared_task
n = 0
lock = threading.Lock()
sem = threading.Semaphore(5)

@shared_task
def a():
    global n
    with lock:
        n += 1

@shared_task
def b():
    global n
    with lock:
        v = n
    with lock:
        n = v + 1

@shared_task
def c():
    global n
    with sem:
        n += 1
`;
  const r = lint(src);
  assert.deepEqual(r.findings.map(f => [f.rule, f.functionName]), [['WL103', 'b'], ['WL101', 'c']]);
  // The lock that already guards n is offered for c.
  assert.ok(r.findings[1].fixes.some(f => f.title.includes('with lock:')), r.findings[1].fixes.map(f => f.title).join());
});

test('lintFiles: a file that cannot be read is reported for itself and the others are still analysed', async () => {
  const good = path.resolve(__dirname, '../../../../examples/celery-leaky/tasks.py');
  const results = await lintFiles(['/nonexistent/workerlens/gone.py', good]);
  assert.match(results[0].error ?? '', /cannot read: ENOENT/);
  assert.deepEqual(results[1].findings.map(f => f.rule), ['WL101', 'WL102']);
});
