import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { discoveryDirs, endpointFromDiscovery, listDiscoveryFiles, readDiscoveryFile } from '../../../src/cdp/discovery';
import { findAgentDir, injectAgent, InjectError } from '../../../src/cdp/inject';
import type { DiscoveryFile } from '../../../src/protocol/agent';

const record = (pid: number): DiscoveryFile => ({ pid, ppid: 1, host: '127.0.0.1', port: 45678, token: 'tok', role: 'process', processName: 'leaky.py', workerName: null, pool: null, pythonVersion: '3.11.2', executable: '/usr/bin/python3', agentVersion: '0.1.0', startedAt: 1 });

test('discovery: XDG dir first, then /tmp/workerlens-<uid>', () => {
  assert.deepEqual(discoveryDirs({ XDG_RUNTIME_DIR: '/run/user/7' }, 7), ['/run/user/7/workerlens', '/tmp/workerlens-7']);
  assert.deepEqual(discoveryDirs({}, 7), ['/tmp/workerlens-7']);
});

test('discovery: reads live processes only, skips junk, builds the ws endpoint', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-disc-'));
  try {
    fs.writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify(record(process.pid)), { mode: 0o600 });
    fs.writeFileSync(path.join(dir, '999999999.json'), JSON.stringify(record(999999999)));  // dead pid
    fs.writeFileSync(path.join(dir, '1.json'), 'not json');
    const d = await readDiscoveryFile(process.pid, [dir]);
    assert.equal(d?.port, 45678);
    assert.equal(await readDiscoveryFile(999999999, [dir]), null);
    assert.deepEqual((await listDiscoveryFiles([dir, '/nonexistent'])).map(x => x.pid), [process.pid]);
    assert.deepEqual(endpointFromDiscovery(record(5)), { webSocketUrl: 'ws://127.0.0.1:45678/tok', label: 'pid 5 (leaky.py)' });
    assert.equal(endpointFromDiscovery({ ...record(5), host: '::1' }).webSocketUrl, 'ws://[::1]:45678/tok');
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('findAgentDir finds the repository agent folder from the compiled tree', () => {
  const dir = findAgentDir();
  assert.ok(dir && fs.existsSync(path.join(dir, 'workerlens_agent')), String(dir));
});

/** A stand-in interpreter: a shell script that answers like the injector would. */
function fakePython(body: string): { python: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-py-'));
  fs.mkdirSync(path.join(dir, 'workerlens_agent'));
  fs.writeFileSync(path.join(dir, 'workerlens_agent', '__main__.py'), '');
  const python = path.join(dir, 'python3');
  fs.writeFileSync(python, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return { python, dir };
}

test('inject: success returns the discovery record; progress lines are passed on; args and PYTHONPATH are right', async () => {
  const { python, dir } = fakePython(`echo "attaching gdb" >&2; echo "args=$*" >&2; echo "pp=$PYTHONPATH" >&2; echo '${JSON.stringify(record(1234))}'`);
  const progress: string[] = [];
  const d = await injectAgent({ pid: 1234, python, agentDir: dir, onProgress: l => progress.push(l) });
  assert.equal(d.pid, 1234);
  assert.equal(progress[0], 'attaching gdb');
  assert.equal(progress[1], 'args=-m workerlens_agent inject 1234 --json');
  assert.ok(progress[2].startsWith(`pp=${dir}`));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('inject: the injector error (code, message, hint) comes through as InjectError', async () => {
  const { python, dir } = fakePython(`echo '{"error":{"code":"ptrace-denied","message":"ptrace: Operation not permitted","hint":"run as the same user"}}'; exit 3`);
  await assert.rejects(injectAgent({ pid: 1, python, agentDir: dir }), (e: unknown) => e instanceof InjectError && e.code === 'ptrace-denied' && e.hint === 'run as the same user');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('inject: cancellation kills the injector; a missing interpreter is explained', async () => {
  const { python, dir } = fakePython('exec sleep 30');
  const ac = new AbortController();
  const p = injectAgent({ pid: 1, python, agentDir: dir, signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(p, (e: unknown) => e instanceof InjectError && e.code === 'cancelled');
  await assert.rejects(injectAgent({ pid: 1, python: '/nonexistent/python3', agentDir: dir }), (e: unknown) => e instanceof InjectError && e.code === 'no-python');
  const garbage = fakePython('echo hello');
  await assert.rejects(injectAgent({ pid: 1, python: garbage.python, agentDir: garbage.dir }), (e: unknown) => e instanceof InjectError && e.code === 'bad-output');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(garbage.dir, { recursive: true, force: true });
});
