// Celery-semantics rules through the editor's analyzer: results cached per function (decorators
// included), moved with their function, and the static configuration reader.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ModuleAnalyzer } from '../../../src/analysis/analyzer';
import { celeryConfigOf } from '../../../src/analysis/celeryRules';
import { PythonParser } from '../../../src/analysis/python';

let parser: PythonParser;
before(async () => { parser = await PythonParser.create(); });
after(() => parser.dispose());

function lint(text: string, analyzer: ModuleAnalyzer, opts = {}) {
  const tree = parser.parse(text);
  try { return analyzer.analyze(tree, text, opts).findings.map(f => `${f.rule}@${f.range.start.line + 1}`); } finally { tree.delete(); }
}

const SRC = `import redis
from celery import shared_task
from django.db import transaction

r = redis.Redis()


@shared_task(time_limit=300)
def rebuild(key):
    with r.lock(key, timeout=60):
        pass


def place(order):
    with transaction.atomic():
        order.save()
        rebuild.delay(order.pk)
`;

test('WL110/WL111 follow edits: moved lines, a changed decorator, a fixed timeout', () => {
  const a = new ModuleAnalyzer();
  assert.deepEqual(lint(SRC, a), ['WL111@10', 'WL110@17']);
  assert.deepEqual(lint(`# one\n# two\n${SRC}`, a), ['WL111@12', 'WL110@19']);
  // The decorator is outside the def node: the cache key must still see it.
  assert.deepEqual(lint(SRC.replace('time_limit=300', 'time_limit=30'), a), ['WL110@17']);
  assert.deepEqual(lint(SRC.replace('timeout=60', 'timeout=300'), a), ['WL110@17']);
});

test('WL112 from the static configuration of another file', () => {
  const cfg = celeryConfigOf('app.conf.broker_transport_options = {"visibility_timeout": 60 * 30}\ntask_time_limit = 7_200\n', 'celery.py');
  assert.deepEqual(cfg, { visibilityTimeout: { seconds: 1800, file: 'celery.py', line: 0 }, taskTimeLimit: { seconds: 7200, file: 'celery.py', line: 1 } });
  const a = new ModuleAnalyzer();
  const tree = parser.parse(SRC);
  try {
    const r = a.analyze(tree, SRC, { celery: cfg });
    const vt = r.findings.filter(f => f.rule === 'WL112');
    assert.equal(vt.length, 0, 'time_limit=300 is within 1800 s');
  } finally { tree.delete(); }
  const long = SRC.replace('time_limit=300', 'time_limit=3600');
  const t2 = parser.parse(long);
  try {
    const r = new ModuleAnalyzer().analyze(t2, long, { celery: cfg });
    const vt = r.findings.find(f => f.rule === 'WL112')!;
    assert.match(vt.message, /time_limit 3600 s, longer than the broker's visibility_timeout of 1800 s \(celery\.py:1\)/);
    assert.equal(vt.range.start.line, 7);
  } finally { t2.delete(); }
});
