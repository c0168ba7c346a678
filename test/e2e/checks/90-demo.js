// Issue 2: `npm run demo` prints a URL at which the workbench opens with the example folder and the
// extension active (its worker listed with the agent running); Ctrl-C stops everything it started.
'use strict';
const cp = require('child_process');
const fs = require('fs');
const path = require('path');
const { until, openWorkerLens } = require('./lib');

/** Every process descended from the demo: they all inherit the marker variable in their environment. */
function demoProcesses(marker) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try { if (fs.readFileSync(`/proc/${d}/environ`, 'utf8').includes(marker)) out.push(+d); } catch { /* gone */ }
  }
  return out;
}

module.exports = {
  name: 'demo',
  order: 90,
  async run(page, ctx) {
    const port = await ctx.stack.freePort();
    const urlFile = path.join(ctx.tmp, 'demo-url');
    const logFile = path.join(ctx.tmp, 'demo.log');
    const fd = fs.openSync(logFile, 'w');
    const demo = cp.spawn('npm', ['run', 'demo'], { cwd: ctx.root, env: { ...process.env, PORT: String(port), WORKERLENS_DEMO_URL_FILE: urlFile }, stdio: ['ignore', fd, fd], detached: true });
    fs.closeSync(fd);
    const marker = `WORKERLENS_DEMO_URL_FILE=${urlFile}`;
    try {
      const url = await until('the demo to print its URL', () => fs.existsSync(urlFile) && fs.readFileSync(urlFile, 'utf8'), 240000, 500);
      const printed = fs.readFileSync(logFile, 'utf8');
      if (!printed.includes(url)) throw new Error(`the URL is not in the demo's output:\n${printed.slice(-1000)}`);
      if (!url.includes(encodeURIComponent(path.join(ctx.root, 'examples', 'celery-leaky')))) throw new Error(`URL does not open the example: ${url}`);
      const p = await ctx.browser.newPage({ viewport: { width: 1400, height: 900 } });
      try {
        await p.goto(url);
        await p.locator('.monaco-workbench').waitFor({ timeout: 90000 });
        await openWorkerLens(p);
        await p.getByRole('treeitem', { name: /, pid \d+, agent running/ }).first().waitFor({ timeout: 60000 });
        await p.getByRole('treeitem', { name: /^ForkPoolWorker-\d+, pid \d+, agent running/ }).first().waitFor({ timeout: 30000 });
        await p.screenshot({ path: path.join(ctx.shotsDir, 'demo.png') });
      } finally {
        await p.close().catch(() => { });
      }
      const running = demoProcesses(marker);
      if (running.length < 5) throw new Error(`only ${running.length} demo processes found while it runs`);
      ctx.log(`    demo runs ${running.length} processes`);
    } finally {
      try { process.kill(-demo.pid, 'SIGINT'); } catch { /* already gone */ }
      await until('the demo to exit', () => demo.exitCode !== null || demo.signalCode !== null, 30000).catch(() => { try { process.kill(-demo.pid, 'SIGKILL'); } catch { /* gone */ } });
    }
    const left = await until('every demo process to stop', () => { const l = demoProcesses(marker); return l.length === 0 ? [] : null; }, 15000)
      .catch(() => demoProcesses(marker));
    if (left.length) throw new Error(`processes left behind after Ctrl-C: ${left.join(', ')}`);
  },
};
