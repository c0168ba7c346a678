// The workspace's Celery pool from the files people start workers with, and quick fixes ordered by it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { lintFiles } from '../../../src/analysis/project';
import { PythonParser } from '../../../src/analysis/python';
import { decidePool, poolConfigFiles, poolHitsInFile, poolHitsInPython, poolSentence } from '../../../src/analysis/workerPool';
import { applyEdits } from './applyEdits';

const root = path.resolve(__dirname, '../../../..');

test('Python settings: celeryconfig, app.conf.update, Django CELERY_ namespace, old names; comments ignored', () => {
  const celeryconfig = `broker_url = "redis://localhost:6379/0"\nworker_pool = 'gevent'\nworker_concurrency = 100\n`;
  assert.deepEqual(poolHitsInPython(celeryconfig, 'celeryconfig.py').map(h => [h.pool, h.line, h.text]), [['gevent', 1, "worker_pool = 'gevent'"]]);
  const app = `app = Celery("proj")\napp.conf.update(\n    task_acks_late=True,\n    worker_pool="threads",\n)\n`;
  assert.deepEqual(poolHitsInPython(app, 'proj/celery.py').map(h => [h.pool, h.line]), [['threads', 3]]);
  const django = `# settings.py\nCELERY_BROKER_URL = env("REDIS_URL")\nCELERY_WORKER_POOL = "solo"  # one task at a time on Windows dev boxes\n`;
  assert.deepEqual(poolHitsInPython(django, 'proj/settings.py').map(h => h.pool), ['solo']);
  assert.deepEqual(poolHitsInPython(`CELERYD_POOL = "processes"\n`, 'settings.py').map(h => h.pool), ['prefork']);
  assert.deepEqual(poolHitsInPython(`app.conf.worker_pool = 'eventlet'\n`, 'tasks.py').map(h => h.pool), ['eventlet']);
  assert.deepEqual(poolHitsInPython(`app.conf.update({"worker_pool": "gevent"})\n`, 'tasks.py').map(h => h.pool), ['gevent']);
  assert.deepEqual(poolHitsInPython(`# worker_pool = "threads"   (tried it, lost updates)\nx = 1\n`, 'tasks.py'), []);
  assert.deepEqual(poolHitsInPython(`worker_pool = "custom.pools:MyPool"\n`, 'tasks.py'), [], 'a custom pool class names none we know');
});

test('launch.json (JSON with comments, trailing commas) and tasks.json', () => {
  const launch = `{
    // Use IntelliSense to learn about possible attributes.
    "version": "0.2.0",
    "configurations": [
        {
            "name": "Celery worker",
            "type": "debugpy",
            "request": "launch",
            "module": "celery",
            "args": ["-A", "proj", "worker", "--loglevel", "INFO", "-P", "solo",],
            "justMyCode": false,
        },
        { "name": "Django", "type": "debugpy", "request": "launch", "program": "\${workspaceFolder}/manage.py", "args": ["runserver"] },
    ],
}`;
  const hits = poolHitsInFile('/ws/.vscode/launch.json', launch);
  assert.deepEqual(hits.map(h => [h.pool, h.line, h.kind]), [['solo', 9, 'launch']]);
  assert.match(hits[0].text, /-P solo in "Celery worker"/);
  const tasks = `{
  "version": "2.0.0",
  "tasks": [
    { "label": "worker", "type": "shell", "command": "celery -A proj worker --pool=threads -c 8", "problemMatcher": [] },
    { "label": "beat", "type": "shell", "command": "celery -A proj beat" }
  ]
}`;
  assert.deepEqual(poolHitsInFile('/ws/.vscode/tasks.json', tasks).map(h => [h.pool, h.line, h.text]), [['threads', 3, '--pool=threads in "worker"']]);
  assert.deepEqual(poolHitsInFile('/ws/.vscode/launch.json', '{ not json -P gevent celery worker'), [], 'broken JSON: no hit, no throw');
});

test('Procfile, docker-compose (string and list commands), systemd unit with continuations, celery multi', () => {
  assert.deepEqual(poolHitsInFile('/ws/Procfile', `web: gunicorn proj.wsgi\nworker: celery -A proj worker -Pgevent -c 200 --loglevel info\n`).map(h => [h.pool, h.line, h.text]), [['gevent', 1, '-Pgevent']]);
  const compose = `services:
  worker:
    build: .
    command: celery -A proj worker --pool prefork --concurrency 4
  worker-io:
    image: proj
    command: ["celery", "-A", "proj", "worker", "-P", "eventlet", "-c", "500"]
  worker-list:
    command:
      - celery
      - -A
      - proj
      - worker
      - --pool=threads
`;
  assert.deepEqual(poolHitsInFile('/ws/docker-compose.yml', compose).map(h => [h.pool, h.line]), [['prefork', 3], ['eventlet', 6], ['threads', 8]]);
  const unit = `[Unit]
Description=Celery Service
After=network.target

[Service]
Type=forking
User=celery
EnvironmentFile=/etc/conf.d/celery
WorkingDirectory=/opt/celery
ExecStart=/bin/sh -c '\${CELERY_BIN} -A $CELERY_APP multi start $CELERYD_NODES \\
    --pidfile=\${CELERYD_PID_FILE} --logfile=\${CELERYD_LOG_FILE} \\
    --loglevel="\${CELERYD_LOG_LEVEL}" --pool=eventlet $CELERYD_OPTS'
ExecStop=/bin/sh -c '\${CELERY_BIN} multi stopwait $CELERYD_NODES'
`;
  // ${CELERY_BIN} is not the word "celery": a unit that names its binary through a variable names no pool we can trust.
  assert.deepEqual(poolHitsInFile('/ws/deploy/celery.service', unit), []);
  const unit2 = unit.replace('${CELERY_BIN}', '/opt/venv/bin/celery');
  assert.deepEqual(poolHitsInFile('/ws/deploy/celery.service', unit2).map(h => [h.pool, h.line]), [['eventlet', 9]]);
  assert.deepEqual(poolHitsInFile('/ws/Procfile', 'beat: celery -A proj beat\n'), []);
  assert.deepEqual(poolHitsInFile('/ws/README.md', 'celery -A proj worker -P gevent'), [], 'prose is not a config');
});

test('deciding: setting wins, then launch configs, deploy files, Python settings; Celery default otherwise', () => {
  const py = poolHitsInPython(`worker_pool = "threads"\n`, 'celeryconfig.py');
  const proc = poolHitsInFile('Procfile', 'worker: celery -A proj worker -P gevent\n');
  assert.equal(decidePool([...py, ...proc]).pool, 'gevent');
  assert.equal(decidePool([...py, ...proc]).conflicts[0].pool, 'threads');
  assert.match(poolSentence(decidePool([...py, ...proc])), /Pool: \*\*gevent\*\*, from Procfile line 1 \(`-P gevent`\)\. Elsewhere: threads in celeryconfig\.py line 1/);
  const set = decidePool(proc, 'threads');
  assert.deepEqual([set.pool, set.origin], ['threads', 'setting']);
  assert.match(poolSentence(set), /workerLens\.celery\.pool setting/);
  const none = decidePool([]);
  assert.deepEqual([none.pool, none.origin], ['prefork', 'default']);
  assert.match(none.source, /Celery's default/);
});

test('poolConfigFiles finds .vscode/launch.json, Procfile and deploy/*.service, skipping node_modules', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-pool-'));
  try {
    for (const f of ['.vscode/launch.json', 'Procfile', 'deploy/worker.service', 'node_modules/x/Procfile', 'src/app.py', 'docker-compose.override.yml']) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), '');
    }
    assert.deepEqual(poolConfigFiles(dir).map(f => path.relative(dir, f)).sort(), ['.vscode/launch.json', 'Procfile', 'deploy/worker.service', 'docker-compose.override.yml'].sort());
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

const example = path.join(root, 'examples/celery-leaky/tasks.py');

async function lintExample(text: string, hits: ReturnType<typeof poolHitsInFile>, setting?: 'threads' | 'prefork') {
  const [r] = await lintFiles([example], { poolHits: [...hits], ...(setting ? { poolSetting: setting } : {}) }, new Map([[example, text]]));
  return r;
}

test('prefork: the counter gets the Redis fix first and the lock last with its caveat; the fix is clean', async () => {
  const text = fs.readFileSync(example, 'utf8');
  const r = await lintExample(text, poolHitsInFile('Procfile', 'worker: celery -A tasks worker --pool prefork -c 2\n'));
  const counter = r.findings.find(f => f.rule === 'WL101' && f.state === 'processed_count')!;
  assert.match(counter.pool!, /prefork.*Procfile line 1/);
  const titles = counter.fixes.map(f => f.title);
  assert.match(titles[0], /^Keep `processed_count` in Redis: `_redis\.incr\("processed_count"\)`/, titles.join(' | '));
  assert.equal(counter.fixes[0].preferred, true);
  assert.match(titles[1], /threading\.Lock.*prefork processes do not share it/);
  assert.equal(counter.fixes.filter(f => f.preferred).length, 1);
  assert.match(titles[2], /^Suppress/);
  // The edit: `import redis`, a client from the app's broker URL, and INCR; it parses and nothing is flagged anymore.
  const edited = applyEdits(text, counter.fixes[0].edits);
  assert.match(edited, /^import redis$/m);
  assert.match(edited, /^_redis = redis\.Redis\.from_url\(app\.conf\.broker_url\)/m);
  assert.match(edited, /^ {4}processed_count = _redis\.incr\("processed_count"\)$/m);
  const parser = await PythonParser.create();
  try { const t = parser.parse(edited); assert.equal(t.rootNode.hasError, false, edited); t.delete(); } finally { parser.dispose(); }
  const after = await lintExample(edited, []);
  assert.deepEqual(after.findings.filter(f => f.state === 'processed_count'), []);
  assert.equal(after.findings.length, r.findings.length - 1, after.findings.map(f => `${f.rule} ${f.state}`).join());
  // The cache check-then-act has no cross-process rewrite: setdefault first, the lock after it with the caveat.
  const cache = r.findings.find(f => f.rule === 'WL102')!;
  assert.match(cache.fixes[0].title, /setdefault/);
  assert.match(cache.fixes[1].title, /threading\.Lock.*prefork processes do not share it/);
});

test('threads (from the setting): the lock first, Redis after it; no pool given: the fixes as before', async () => {
  const text = fs.readFileSync(example, 'utf8');
  const r = await lintExample(text, poolHitsInFile('Procfile', 'worker: celery -A tasks worker --pool prefork\n'), 'threads');
  const counter = r.findings.find(f => f.rule === 'WL101')!;
  assert.match(counter.pool!, /threads.*workerLens\.celery\.pool setting.*Elsewhere: prefork in Procfile/);
  assert.deepEqual(counter.fixes.map(f => f.title.split(' ')[0]), ['Wrap', 'Keep', 'Suppress']);
  assert.equal(counter.fixes[0].preferred, true);
  assert.doesNotMatch(counter.fixes[0].title, /do not share/);
  const [plain] = await lintFiles([example], {}, new Map([[example, text]]));
  assert.deepEqual(plain.findings.find(f => f.rule === 'WL101')!.fixes.map(f => f.title.split(' ')[0]), ['Wrap', 'Suppress']);
  assert.equal(plain.findings[0].pool, undefined);
});

test('prefork without Redis in the module: no Redis fix is made up; the lock is still offered, last, with the caveat', async () => {
  const text = `from celery import shared_task\n\nhits = 0\n\n\n@shared_task\ndef hit():\n    global hits\n    hits += 1\n`;
  const file = path.join(root, 'examples/celery-leaky/plain.py');
  const [r] = await lintFiles([file], { poolHits: [] }, new Map([[file, text]]));
  const titles = r.findings[0].fixes.map(f => f.title);
  assert.equal(titles.length, 2, titles.join(' | '));
  assert.match(titles[0], /threading\.Lock.*prefork processes do not share it/);
  assert.match(r.findings[0].pool!, /Celery's default/);
});

test('an existing Redis client is used, and -= becomes DECR by the amount', async () => {
  const text = `import redis\nfrom celery import shared_task\n\nr = redis.Redis()\nstock = 0\n\n\n@shared_task\ndef sell(n):\n    global stock\n    stock -= n\n`;
  const file = path.join(root, 'examples/celery-leaky/shop.py');
  const [res] = await lintFiles([file], { poolHits: [], poolSetting: 'prefork' }, new Map([[file, text]]));
  const fix = res.findings.find(f => f.rule === 'WL101')!.fixes[0];
  assert.match(fix.title, /^Keep `stock` in Redis: `r\.decr\("stock", n\)`/);
  const edited = applyEdits(text, fix.edits);
  assert.match(edited, /^ {4}stock = r\.decr\("stock", n\)$/m);
  assert.doesNotMatch(edited, /_redis/);
});
