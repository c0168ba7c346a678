// Issue 11: another local user pre-creates the victim's discovery directory with a fake agent's
// address in it. The CLI (and the extension, through the same reader) must refuse it with a clear
// message instead of connecting. Real directories chowned to `nobody`; the real CLI bundle.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listDiscoveryFiles, readDiscoveryFile, untrustedReason, UntrustedDiscoveryError } from '../../src/cdp/discovery';
import { buildCli, runCli } from './heapHelpers';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
let base = '';
let victim: ChildProcess | undefined;

before(async () => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-trust-'));
  victim = spawn('/usr/bin/python3', ['-c', 'import time; time.sleep(120)'], { stdio: 'ignore' });
  await buildCli();
});
after(() => {
  victim?.kill('SIGKILL');
  fs.rmSync(base, { recursive: true, force: true });
});

function plant(owner: number, dirMode = 0o700, fileMode = 0o600): string {
  const runtime = fs.mkdtempSync(path.join(base, 'run-'));
  const dir = path.join(runtime, 'workerlens');
  fs.mkdirSync(dir, { mode: dirMode });
  fs.chmodSync(dir, dirMode);
  const file = path.join(dir, `${victim?.pid}.json`);
  fs.writeFileSync(file, JSON.stringify({ pid: victim?.pid, ppid: 1, host: '127.0.0.1', port: 1, token: 'fake', role: 'process', processName: 'fake', workerName: null, pool: null, pythonVersion: '3', executable: '', agentVersion: '0', startedAt: 0 }), { mode: fileMode });
  fs.chmodSync(file, fileMode);
  if (owner !== process.getuid?.()) { fs.chownSync(file, owner, owner); fs.chownSync(dir, owner, owner); }
  return runtime;
}

test('a discovery directory owned by another user is refused with the reason', { skip: !isRoot && 'needs root to chown to nobody' }, async () => {
  const runtime = plant(NOBODY);
  const dir = path.join(runtime, 'workerlens');
  assert.match(await untrustedReason(dir, true) ?? '', /belongs to uid 65534, not to you/);
  await assert.rejects(readDiscoveryFile(victim?.pid as number, [dir]), (e: unknown) => e instanceof UntrustedDiscoveryError && /uid 65534/.test(e.message));
  const why: string[] = [];
  assert.deepEqual(await listDiscoveryFiles([dir], w => why.push(w)), []);
  assert.match(why.join('\n'), /uid 65534/);
});

test('a group/world-writable directory or file of ours is refused too; a proper one is read', async () => {
  const loose = plant(process.getuid?.() ?? 0, 0o777);
  await assert.rejects(readDiscoveryFile(victim?.pid as number, [path.join(loose, 'workerlens')]), /mode 777/);
  const looseFile = plant(process.getuid?.() ?? 0, 0o700, 0o666);
  await assert.rejects(readDiscoveryFile(victim?.pid as number, [path.join(looseFile, 'workerlens')]), /mode 666/);
  const good = plant(process.getuid?.() ?? 0);
  assert.equal((await readDiscoveryFile(victim?.pid as number, [path.join(good, 'workerlens')]))?.token, 'fake');
});

test('the CLI refuses a planted directory instead of connecting to the fake agent', { skip: !isRoot && 'needs root to chown to nobody' }, async () => {
  const runtime = plant(NOBODY);
  const saved = process.env.XDG_RUNTIME_DIR;
  process.env.XDG_RUNTIME_DIR = runtime;
  try {
    const r = await runCli(['heap', '--pid', String(victim?.pid), '--no-inject']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr.trim(), /^workerlens heap: pid \d+: .*workerlens belongs to uid 65534, not to you .*refusing to trust it/);
  } finally {
    if (saved === undefined) delete process.env.XDG_RUNTIME_DIR; else process.env.XDG_RUNTIME_DIR = saved;
  }
});
