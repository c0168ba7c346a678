// Issue 6: a Python process that may not be ptraced (here: it is already traced, as under another
// debugger): Attach shows one clear error with a button to the docs, and the extension keeps working.
'use strict';
const fs = require('fs');
const path = require('path');
const { until, runCommand, notification } = require('./lib');

module.exports = {
  name: 'ptrace-denied',
  order: 50,
  async run(page, ctx) {
    const script = path.join(ctx.tmp, 'untraceable_worker.py');
    // PTRACE_TRACEME makes our parent its tracer: gdb then gets EPERM like any refused ptrace.
    fs.writeFileSync(script, 'import ctypes, time\nctypes.CDLL(None).ptrace(0, 0, None, None)\nwhile True:\n    time.sleep(1)\n');
    const p = ctx.stack.spawnGroup('untraceable', '/usr/bin/python3', [script], { cwd: ctx.tmp, env: {}, logFile: path.join(ctx.tmp, 'untraceable.log') });
    await new Promise(r => setTimeout(r, 500));
    await runCommand(page, 'Worker Lens: Attach to Python Process…');
    const qi = page.locator('.quick-input-widget');
    await qi.locator('input').fill('untraceable_worker');
    await qi.locator('.monaco-list-row', { hasText: `pid ${p.child.pid}` }).first().click();
    const err = await notification(page, `Cannot attach to untraceable_worker.py (pid ${p.child.pid})`, 90000);
    const text = await err.textContent();
    if (!/ptrace|not permitted/i.test(text)) throw new Error(`error does not explain ptrace: ${text}`);
    await err.getByRole('button', { name: 'How to allow it' }).waitFor();
    await ctx.shot('ptrace-denied');
    await until('the process is still alive', () => { try { process.kill(p.child.pid, 0); return true; } catch { return false; } }, 2000);
    // A traced process stops on SIGTERM waiting for its tracer: end it with SIGKILL.
    ctx.stack.killGroup(p, 'SIGKILL');
  },
};
