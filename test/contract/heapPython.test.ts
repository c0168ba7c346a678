// A real Python process under the real agent (agent/workerlens_agent): the CLI, reaching it by pid
// through its discovery file, names the leaked class and a path that starts at the module global.
// With the injector present, the same against a process started without the agent (ptrace injection).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readDiscoveryFile } from '../../src/cdp/discovery';
import { buildCli, kill, runCli, ROOT } from './heapHelpers';

const AGENT = path.join(ROOT, 'agent');
const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(ROOT, 'test/fixtures/heap/leaky_list.py');
const hasAgent = fs.existsSync(path.join(AGENT, 'workerlens_agent/__main__.py')) && fs.existsSync(PYTHON);
const hasInjector = hasAgent && fs.existsSync(path.join(AGENT, 'workerlens_agent/inject.py')) && process.arch === 'x64';
const children: ChildProcess[] = [];

function start(withAgent: boolean): ChildProcess {
  const args = withAgent ? ['-m', 'workerlens_agent', 'run', SCRIPT] : [SCRIPT];
  const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...(withAgent ? { PYTHONPATH: AGENT } : {}) };
  const child = spawn(PYTHON, args, { env, stdio: 'ignore', detached: true });
  children.push(child);
  return child;
}

async function waitForAgent(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await readDiscoveryFile(pid)) return;
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`no discovery file for pid ${pid} after 10 s`);
}

interface Report { suspects: { type: string; delta: number; paths: { labels: string[]; count: number; text: string }[] }[] }

function checkLeak(out: Report): void {
  const top = out.suspects[0];
  assert.equal(top?.type, 'Payload', JSON.stringify(out.suspects.map(s => [s.type, s.delta])));
  assert.ok(top.delta > 0);
  assert.deepEqual(top.paths[0].labels.slice(0, 2), ['__main__', 'leaky_storage'], JSON.stringify(top.paths));
  assert.match(top.paths[0].labels[2], /^\[\d+\]$/);
  assert.match(top.paths[0].text, /^__main__\.leaky_storage\[\d+\]$/);
}

before(async () => { if (hasAgent) await buildCli(); });
after(() => { for (const c of children) kill(c); });

test('--pid with the agent running: Payload is the top suspect, its path starts at the module global', { skip: !hasAgent && 'agent/workerlens_agent not present' }, async () => {
  const child = start(true);
  await waitForAgent(child.pid as number);
  const r = await runCli(['heap', '--pid', String(child.pid), '--samples', '3', '--interval', '0.5', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  checkLeak(JSON.parse(r.stdout) as Report);
});

test('the worker dies mid-run: one line on stderr, exit 1, no stack trace', { skip: !hasAgent && 'agent/workerlens_agent not present' }, async () => {
  const child = start(true);
  await waitForAgent(child.pid as number);
  let killed = false;
  const r = await runCli(['heap', '--pid', String(child.pid), '--samples', '20', '--interval', '0.3'], err => {
    if (!killed && /sample 2\//.test(err)) { killed = true; kill(child); }
  });
  assert.ok(killed, r.stderr);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n').filter(l => !/^(sample \d+\/\d+|connecting)…$/.test(l));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^workerlens heap: Python\.getObjectCounts on pid \d+ \(leaky_list\.py\).*went away/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('--pid without an agent: --no-inject explains, default injects the agent and finds the leak', { skip: !hasInjector && 'agent injector (workerlens_agent/inject.py) not present or not x86-64' }, async () => {
  const child = start(false);
  await new Promise(r => setTimeout(r, 300));
  const refused = await runCli(['heap', '--pid', String(child.pid), '--no-inject']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr.trim(), /^workerlens heap: pid \d+ runs no Worker Lens agent: .*drop --no-inject/);
  const r = await runCli(['heap', '--pid', String(child.pid), '--samples', '3', '--interval', '0.5', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  checkLeak(JSON.parse(r.stdout) as Report);
});
