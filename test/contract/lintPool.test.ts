// `workerlens lint` reads the workspace's Celery pool as the editor does (analysis/workerPool.ts via
// server/pool.ts), `--pool NAME` overrides it, the report says which pool and from where, and the
// quick fixes follow it — over real files in a temporary workspace, text, JSON and SARIF.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main';

const TASKS = `from celery import Celery

app = Celery("shop", broker="redis://127.0.0.1:6379/0")

processed_count = 0


@app.task
def count_order(order_id):
    global processed_count
    processed_count += 1
    return processed_count
`;

function workspace(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-lintpool-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

async function lint(cwd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await main(['lint', ...args], { stdout: t => { out += t; }, stderr: t => { err += t; }, cwd });
  return { code, out, err };
}

const fixLines = (out: string) => out.split('\n').filter(l => l.startsWith('    fix: ')).map(l => l.slice(9));

test('a Procfile names prefork: said with its line, the cross-process fix first, the lock last with its caveat', async () => {
  const dir = workspace({ 'tasks.py': TASKS, Procfile: 'worker: celery -A tasks worker --pool prefork -c 2\n' });
  try {
    const r = await lint(dir, ['.']);
    assert.equal(r.code, 1);
    assert.match(r.out, /^pool: prefork, from Procfile line 1 \(`--pool prefork`\) — quick fixes are ordered for it; --pool NAME overrides$/m);
    const fixes = fixLines(r.out);
    assert.match(fixes[0], /^Keep `processed_count` in Redis: `_redis\.incr\("processed_count"\)`/);
    assert.match(fixes[fixes.length - 1], /threading\.Lock\) — threads\/gevent\/eventlet pools only: prefork processes do not share it$/);
    // a file PATH: its folder is the workspace (the Procfile next to it still counts)
    const one = await lint(dir, ['tasks.py']);
    assert.match(one.out, /^pool: prefork, from Procfile line 1/m);
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('--pool overrides the workspace and the fixes follow it; the files naming another pool are listed', async () => {
  const dir = workspace({ 'tasks.py': TASKS, Procfile: 'worker: celery -A tasks worker --pool prefork\n' });
  try {
    const r = await lint(dir, ['--pool', 'threads', '.']);
    assert.match(r.out, /^pool: threads, from --pool threads — quick fixes are ordered for it; elsewhere: prefork in Procfile line 1$/m);
    const fixes = fixLines(r.out);
    assert.match(fixes[0], /^Wrap in `with _processed_count_lock:` \(new module-level threading\.Lock\)$/);
    assert.match(fixes[1], /^Keep `processed_count` in Redis/);
    const j = JSON.parse((await lint(dir, ['--pool=gevent', '--format', 'json', '.'])).out) as { pool: { name: string; from: string; origin: string; elsewhere: { pool: string; file: string; line: number }[] }; findings: { fixes: string[] }[] };
    assert.deepEqual(j.pool, { name: 'gevent', from: '--pool gevent', origin: 'setting', elsewhere: [{ pool: 'prefork', file: 'Procfile', line: 1, text: '--pool prefork' }] });
    assert.match(j.findings[0].fixes[0], /^Wrap in `with _processed_count_lock:`/);
    const usage = await lint(dir, ['--pool', 'forks', '.']);
    assert.equal(usage.code, 2);
    assert.match(usage.err.split('\n')[0], /unknown pool 'forks' \(use auto, prefork, threads, gevent, eventlet, solo\)/);
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('the editor\'s order of sources: launch.json over docker-compose over Python settings; Celery\'s default last', async () => {
  const launch = `{
  // a comment, as VS Code allows
  "configurations": [
    { "name": "worker", "type": "debugpy", "request": "launch", "module": "celery", "args": ["-A", "tasks", "worker", "-P", "threads"] },
  ]
}
`;
  const compose = 'services:\n  worker:\n    command: celery -A tasks worker --pool=eventlet\n';
  const settings = TASKS.replace('processed_count = 0', 'app.conf.worker_pool = "solo"\n\nprocessed_count = 0');
  const dir = workspace({ 'tasks.py': settings, '.vscode/launch.json': launch, 'deploy/docker-compose.yml': compose });
  try {
    let j = JSON.parse((await lint(dir, ['--format=json', '.'])).out) as { pool: { name: string; from: string; elsewhere: { pool: string }[] } };
    assert.equal(j.pool.name, 'threads');
    assert.match(j.pool.from, /^\.vscode\/launch\.json line 4 \(`-P threads in "worker"`\)$/);
    assert.deepEqual(j.pool.elsewhere.map(h => h.pool), ['eventlet', 'solo']);
    fs.rmSync(path.join(dir, '.vscode'), { recursive: true });
    j = JSON.parse((await lint(dir, ['--format=json', '.'])).out);
    assert.equal(j.pool.name, 'eventlet');
    assert.match(j.pool.from, /^deploy\/docker-compose\.yml line 3/);
    fs.rmSync(path.join(dir, 'deploy'), { recursive: true });
    j = JSON.parse((await lint(dir, ['--format=json', '.'])).out);
    assert.equal(j.pool.name, 'solo');
    assert.match(j.pool.from, /^tasks\.py line 5 \(`worker_pool = "solo"`\)$/);
    fs.writeFileSync(path.join(dir, 'tasks.py'), TASKS);
    const r = await lint(dir, ['.']);
    assert.match(r.out, /^pool: prefork, from Celery's default \(no worker_pool or --pool found in the workspace\)/m);
    const sarif = JSON.parse((await lint(dir, ['--format', 'sarif', '.'])).out) as { runs: { properties: { celeryPool: { name: string; origin: string } } }[] };
    assert.deepEqual([sarif.runs[0].properties.celeryPool.name, sarif.runs[0].properties.celeryPool.origin], ['prefork', 'default']);
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});
