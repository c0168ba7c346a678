// Issue 13: typing the pid of a process that is not Python into "Attach to Python Process…" says
// why it cannot be attached (the picker used to show "0 Results" and Enter did nothing).
'use strict';
const path = require('path');
const { runCommand, notification } = require('./lib');

module.exports = {
  name: 'picker-not-python',
  order: 52,
  async run(page, ctx) {
    const p = ctx.stack.spawnGroup('not-python', '/bin/sleep', ['600'], { cwd: ctx.tmp, env: {}, logFile: path.join(ctx.tmp, 'sleep.log') });
    try {
      await runCommand(page, 'Worker Lens: Attach to Python Process…');
      const qi = page.locator('.quick-input-widget');
      await qi.locator('input').fill(String(p.child.pid));
      await qi.locator('.monaco-list-row', { hasText: `pid ${p.child.pid}` }).first().waitFor({ timeout: 15000 });
      await page.keyboard.press('Enter');
      const err = await notification(page, `Process ${p.child.pid} (sleep`, 30000);
      const text = await err.textContent();
      if (!/is not a Python process/.test(text)) throw new Error(`unexpected message: ${text}`);
      await ctx.shot('picker-not-python');
    } finally {
      ctx.stack.killGroup(p, 'SIGKILL');
    }
  },
};
