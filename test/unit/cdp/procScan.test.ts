import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { isAlive, parseStat, scanProcesses } from '../../../src/cdp/procScan';

test('stat parsing survives spaces and parentheses in comm', () => {
  const s = parseStat('4242 (celeryd: a (b) c) S 4000 4242 4000 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 3 0 100 1000 250 18446744073709551615');
  assert.deepEqual(s, { comm: 'celeryd: a (b) c', ppid: 4000, rssPages: 250 });
  assert.equal(parseStat('garbage'), null);
});

test('a real /proc scan finds this process with its argv', async () => {
  const all = await scanProcesses();
  const me = all.find(p => p.pid === process.pid);
  assert.ok(me);
  assert.equal(me.ppid, process.ppid);
  assert.ok(me.rssBytes > 1024 * 1024);
  assert.ok(me.argv.some(a => a.endsWith('procScan.test.js')) || me.argv[0].includes('node'));
});

test('isAlive: this process yes, an exited child (zombie or reaped) no', async () => {
  assert.equal(isAlive(process.pid), true);
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise(r => child.on('exit', r));
  assert.equal(isAlive(child.pid!), false);
});
