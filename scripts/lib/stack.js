// Starts and stops the real parts the demo and the VS Code tests need: redis-server, the example
// Celery worker (+ producer) and code-server. Every process gets its own process group and is
// killed by group, so nothing is left behind (Celery pool children, extension hosts).
'use strict';
const cp = require('child_process');
const fs = require('fs');
const net = require('net');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const started = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

/** Spawns `cmd` in its own process group, output to `logFile`; remembered for stopAll(). */
function spawnGroup(name, cmd, args, { cwd, env, logFile }) {
  const fd = fs.openSync(logFile, 'a');
  const child = cp.spawn(cmd, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const entry = { name, child, logFile };
  started.push(entry);
  return entry;
}

async function waitFor(what, fn, timeoutMs = 60000, everyMs = 100) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise(r => setTimeout(r, everyMs));
  }
}

function exitedWith(entry) {
  if (entry.child.exitCode === null && entry.child.signalCode === null) return null;
  return `${entry.name} exited (${entry.child.exitCode ?? entry.child.signalCode}): ${fs.readFileSync(entry.logFile, 'utf8').slice(-2000)}`;
}

async function startRedis(tmp) {
  const port = await freePort();
  const dir = path.join(tmp, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  const e = spawnGroup('redis-server', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { cwd: dir, env: {}, logFile: path.join(tmp, 'redis.log') });
  await waitFor('redis-server', () => { const x = exitedWith(e); if (x) throw new Error(x); return /Ready to accept connections/.test(fs.readFileSync(e.logFile, 'utf8')); });
  return { port, url: `redis://127.0.0.1:${port}/0`, entry: e };
}

/** The example worker: `/usr/bin/python3 -m celery -A tasks worker` in `appDir`. */
function startCelery(tmp, appDir, brokerUrl, { pool = 'prefork', concurrency = 2, agent = true, extraEnv = {}, extraArgs = [], logName } = {}) {
  const args = ['-m', 'celery', '-A', 'tasks', 'worker', '--pool', pool, '-c', String(concurrency), '--loglevel', 'INFO', '--without-gossip', '--without-mingle', '--without-heartbeat', ...extraArgs];
  if (agent) args.push('--workerlens');
  return spawnGroup('celery', '/usr/bin/python3', args, {
    cwd: appDir,
    env: { CELERY_BROKER_URL: brokerUrl, PYTHONPATH: agent ? path.join(root, 'agent') : '', PYTHONUNBUFFERED: '1', ...extraEnv },
    logFile: path.join(tmp, logName ?? (agent ? 'celery.log' : 'celery-noagent.log')),
  });
}

function startProducer(tmp, appDir, brokerUrl, rate = 10) {
  return spawnGroup('producer', '/usr/bin/python3', ['producer.py', '--rate', String(rate)], {
    cwd: appDir, env: { CELERY_BROKER_URL: brokerUrl, PYTHONUNBUFFERED: '1' }, logFile: path.join(tmp, 'producer.log'),
  });
}

/** User settings for a quiet, offline workbench. */
function writeUserSettings(userDataDir, extra = {}) {
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none', 'workbench.tips.enabled': false, 'chat.disableAIFeatures': true,
    'telemetry.telemetryLevel': 'off', 'update.mode': 'none', 'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false, 'extensions.ignoreRecommendations': true, 'security.workspace.trust.enabled': false,
    'workbench.enableExperiments': false, 'git.enabled': false, ...extra,
  }, null, 1));
}

function codeServerEnv(tmp, node24Bin, extra = {}) {
  return {
    PATH: `${node24Bin}:${process.env.PATH}`,
    XDG_CONFIG_HOME: path.join(tmp, 'xdg-config'), XDG_DATA_HOME: path.join(tmp, 'xdg-data'), XDG_CACHE_HOME: path.join(tmp, 'xdg-cache'),
    TMPDIR: tmp, // VS Code leaves *.sock files in $TMPDIR
    ...extra,
  };
}

/** Installs a .vsix into `extensionsDir` with code-server's own installer. */
function installVsix(codeServer, node24Bin, tmp, vsix, extensionsDir) {
  const r = cp.spawnSync(codeServer, ['--extensions-dir', extensionsDir, '--install-extension', vsix, '--force'],
    { env: { ...process.env, ...codeServerEnv(tmp, node24Bin) }, encoding: 'utf8', timeout: 120000 });
  if (r.status !== 0 || !/was successfully installed/.test(r.stdout + r.stderr)) {
    throw new Error(`code-server --install-extension ${vsix} failed (${r.status}): ${(r.stdout + r.stderr).slice(-1500)}`);
  }
}

async function startCodeServer({ codeServer, node24Bin, tmp, port, extensionsDir, env = {}, settings = {} }) {
  const ud = path.join(tmp, 'user-data');
  writeUserSettings(ud, settings);
  fs.writeFileSync(path.join(tmp, 'config.yaml'), '');
  const args = ['--config', path.join(tmp, 'config.yaml'), '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none',
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
    '--reconnection-grace-time', '5', '--user-data-dir', ud, '--extensions-dir', extensionsDir,
    '--vscode-option', 'enable-smoke-test-driver']; // without it the built workbench ignores the `payload` dev options
  const e = spawnGroup('code-server', codeServer, args, { cwd: tmp, env: codeServerEnv(tmp, node24Bin, env), logFile: path.join(tmp, 'code-server.log') });
  await waitFor('code-server', () => { const x = exitedWith(e); if (x) throw new Error(x); return /HTTP server listening/.test(fs.readFileSync(e.logFile, 'utf8')); }, 90000, 200);
  return e;
}

function killGroup(entry, signal = 'SIGTERM') {
  try { process.kill(-entry.child.pid, signal); } catch { /* already gone */ }
}

/** Stops everything started here: TERM to each group, then KILL what is left. */
async function stopAll() {
  const live = started.splice(0);
  for (const e of live.reverse()) killGroup(e, 'SIGTERM');
  const t0 = Date.now();
  while (Date.now() - t0 < 5000 && live.some(e => groupAlive(e.child.pid))) await new Promise(r => setTimeout(r, 100));
  for (const e of live) if (groupAlive(e.child.pid)) killGroup(e, 'SIGKILL');
}

function groupAlive(pgid) {
  try { process.kill(-pgid, 0); return true; } catch { return false; }
}

/** Copies the example app into a scratch workspace so tests never touch the repository's files. */
function copyExample(dest) {
  fs.cpSync(path.join(root, 'examples', 'celery-leaky'), dest, { recursive: true, filter: s => !/__pycache__/.test(s) });
  return dest;
}

/** Reads CODE_SERVER / NODE24_BIN from the environment or from scripts/setup.sh --print-env. */
function toolPaths() {
  if (process.env.CODE_SERVER && process.env.NODE24_BIN) return { codeServer: process.env.CODE_SERVER, node24Bin: process.env.NODE24_BIN };
  const out = cp.execFileSync('bash', [path.join(root, 'scripts', 'setup.sh'), '--print-env'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const env = Object.fromEntries(out.trim().split('\n').filter(l => l.includes('=')).map(l => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  return { codeServer: env.CODE_SERVER, node24Bin: env.NODE24_BIN };
}

/** Builds the bundles and the .vsix (`npm run package`), returning the .vsix path. */
function packageVsix() {
  const r = cp.spawnSync('npm', ['run', '--silent', 'package'], { cwd: root, encoding: 'utf8', timeout: 300000 });
  const vsix = path.join(root, 'dist', 'workerlens.vsix');
  if (r.status !== 0 || !fs.existsSync(vsix)) throw new Error(`npm run package failed (${r.status}): ${(r.stdout + r.stderr).slice(-2000)}`);
  return vsix;
}

module.exports = { root, spawnGroup, freePort, waitFor, startRedis, startCelery, startProducer, startCodeServer, installVsix, stopAll, killGroup, copyExample, toolPaths, packageVsix, exitedWith };
