#!/usr/bin/env node
// `npm test`: set-up first (scripts/setup.sh installs whatever is missing), then every suite, in
// order of cost, each counted; ends with "N passed, N failed".
//   check     typecheck (tsc, also emits out/ for the test runners) + webview typecheck + eslint
//   unit      node:test over out/test/unit (pure code, fakes allowed)
//   agent     Python unittest of agent/ on every CPython here (Debian python3 + pyenv 3.8–3.13)
//   contract  node:test over out/test/contract (real agent, real Node inspector, real Redis/Celery)
//   vscode    real VS Code: code-server + headless Chromium (extension-host tests + UI clicks)
// Env: WL_ONLY=unit,agent (run a subset), WL_SKIP=vscode. Tools come from scripts/setup.sh.
// Nothing here may need an npm package before set-up has run: a fresh clone has no node_modules.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
process.chdir(root);
const only = process.env.WL_ONLY ? process.env.WL_ONLY.split(',') : null;
const skip = (process.env.WL_SKIP ?? '').split(',').filter(Boolean);
const want = s => (!only || only.includes(s)) && !skip.includes(s);
const totals = { passed: 0, failed: 0, skipped: 0 };
const summary = [];
const t0 = Date.now();
const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(0)}s]`;

/** Runs a command, echoing its output unless `quiet`, and returns {code, out}. */
function run(cmd, args, opts = {}, quiet = false) {
  return new Promise(resolve => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    const onData = d => { out += d; if (!quiet) process.stdout.write(d); };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', code => resolve({ code: code ?? 1, out }));
    child.on('error', e => resolve({ code: 1, out: String(e) }));
  });
}

function count(suite, passed, failed, skipped = 0) {
  totals.passed += passed; totals.failed += failed; totals.skipped += skipped;
  summary.push(`${suite}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
}

async function step(name, cmd, args, opts) {
  console.log(`\n=== ${stamp()} ${name}: ${cmd} ${args.join(' ')}`);
  const r = await run(cmd, args, opts);
  count(name, r.code === 0 ? 1 : 0, r.code === 0 ? 0 : 1);
  return r.code === 0;
}

/** node:test with the spec reporter; counts come from its "ℹ pass N" lines. */
async function nodeTests(suite, dir) {
  if (!fs.existsSync(dir)) { count(suite, 0, 0); return; }
  const files = [];
  const walk = d => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else if (e.name.endsWith('.test.js')) files.push(p); } };
  walk(dir);
  if (!files.length) { count(suite, 0, 0); return; }
  console.log(`\n=== ${stamp()} ${suite}: ${files.length} files`);
  const r = await run(process.execPath, ['--test', '--test-reporter=spec', '--test-timeout=300000', ...files.sort()]);
  const num = k => +((new RegExp(`^ℹ ${k} (\\d+)`, 'm').exec(r.out) ?? [0, 0])[1]);
  const passed = num('pass'), failed = num('fail') + num('cancelled'), skipped = num('skipped') + num('todo');
  count(suite, passed, failed + (r.code !== 0 && failed === 0 ? 1 : 0), skipped);
}

/** Every CPython this machine has: Debian's (has Celery) and pyenv's, deduplicated by real path. */
function interpreters() {
  const found = new Map();
  const add = p => { try { if (fs.existsSync(p)) { const real = fs.realpathSync(p); if (!found.has(real)) found.set(real, p); } } catch { /* unusable */ } };
  add('/usr/bin/python3');
  let pyenvRoot = process.env.PYENV_ROOT ?? path.join(os.homedir(), '.pyenv');
  try { pyenvRoot = execFileSync('pyenv', ['root'], { encoding: 'utf8' }).trim(); } catch { /* no pyenv */ }
  const versions = path.join(pyenvRoot, 'versions');
  if (fs.existsSync(versions)) {
    for (const v of fs.readdirSync(versions).sort()) {
      const m = /^3\.(\d+)\.\d+$/.exec(v);
      if (m && +m[1] >= 8) add(path.join(versions, v, 'bin', 'python3'));
    }
  }
  return [...found.values()];
}

/** One interpreter's unittest run; output is buffered and printed whole (suites run two at a time). */
async function agentSuite(py) {
  let version = '?';
  try { version = execFileSync(py, ['-c', 'import platform;print(platform.python_version())'], { encoding: 'utf8' }).trim(); } catch { return null; }
  const r = await run(py, ['-m', 'unittest', 'discover', '-s', 'agent/tests', '-t', 'agent', '-v'], { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } }, true);
  return { suite: `agent (python ${version}, ${py})`, ...r };
}

function countAgent({ suite, code, out }) {
  console.log(`\n=== ${stamp()} ${suite}\n${out}`);
  const ran = +((/^Ran (\d+) tests?/m.exec(out) ?? [0, 0])[1]);
  const m = /^FAILED \((.*)\)/m.exec(out);
  let failed = 0, skipped = 0;
  if (m) for (const part of m[1].split(',')) { const [k, v] = part.trim().split('='); if (k === 'failures' || k === 'errors' || k === 'unexpected_successes') failed += +v; if (k === 'skipped') skipped += +v; }
  const okSkip = /^OK \(.*skipped=(\d+)/m.exec(out); if (okSkip) skipped = +okSkip[1];
  if (code !== 0 && failed === 0) failed = 1;
  count(suite, Math.max(0, ran - failed - skipped), failed, skipped);
}

async function agentTests() {
  // Two at a time: most of a suite's time is waiting on real workers, not CPU.
  const queue = interpreters();
  console.log(`\n=== ${stamp()} agent: ${queue.length} interpreters, 2 at a time`);
  const results = [];
  const lane = async () => { for (let py = queue.shift(); py; py = queue.shift()) { const r = await agentSuite(py); if (r) results.push(r); } };
  await Promise.all([lane(), lane()]);
  for (const r of results) countAgent(r);
}

/** scripts/setup.sh --print-env: installs what is missing, returns the tool paths (or null on failure). */
function setup() {
  console.log(`\n=== ${stamp()} setup: bash scripts/setup.sh`);
  try {
    const out = execFileSync('bash', ['scripts/setup.sh', '--print-env'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    return Object.fromEntries(out.trim().split('\n').filter(l => l.includes('=')).map(l => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  } catch {
    return null; // setup.sh has printed its one-line reason
  }
}

async function vscodeTests(env) {
  console.log(`\n=== ${stamp()} vscode (code-server + Chromium)`);
  const r = await run(process.execPath, ['test/e2e/run.js'], { env: { ...process.env, ...env } });
  const m = [...r.out.matchAll(/^(\d+) passed, (\d+) failed$/gm)].pop();
  if (m) count('vscode', +m[1], +m[2] + (r.code !== 0 && +m[2] === 0 ? 1 : 0));
  else count('vscode', 0, 1);
}

(async () => {
  const tools = setup();
  if (!tools) {
    console.log('\nset-up failed (see the [setup] line above); no suite was run');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  if (want('check')) {
    await step('check: build', process.execPath, ['esbuild.mjs']);
    const bin = name => path.join(root, 'node_modules', '.bin', name); // not npx: it may prompt or fetch
    await step('check: tsc', bin('tsc'), ['-p', '.']);
    await step('check: tsc webview', bin('tsc'), ['--noEmit', '-p', 'src/webview']);
    await step('check: eslint', bin('eslint'), ['.']);
  }
  if (want('unit')) await nodeTests('unit', 'out/test/unit');
  if (want('agent')) await agentTests();
  if (want('contract')) await nodeTests('contract', 'out/test/contract');
  if (want('vscode')) await vscodeTests(tools);
  console.log(`\n=== ${stamp()} summary`);
  for (const s of summary) console.log('  ' + s);
  console.log(`${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
  process.exit(totals.failed || !totals.passed ? 1 : 0);
})();
