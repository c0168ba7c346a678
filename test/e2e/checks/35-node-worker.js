// Issue 14: a real BullMQ worker (npm bullmq) on the run's real Redis, started as plain
// `node bullmqWorker.js` (no --inspect). Workers lists it ("inspector off, can open"); Attach opens
// its inspector with SIGUSR1; the Heap view shows ProcessedJob growing; Detach ends the session and
// the worker keeps running.
'use strict';
const path = require('path');
const { spawn } = require('child_process');
const { until, openWorkerLens, clickInline, heapShows, heapRow, runCommand, heapFrame, setViews } = require('./lib');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const REFRESH = 'Worker Lens: Refresh Heap Now';

module.exports = {
  name: 'node-worker',
  order: 35,
  async run(page, ctx) {
    const { Queue } = require(path.join(ROOT, 'node_modules', 'bullmq'));
    const redisPort = Number(/:(\d+)\//.exec(ctx.redis.url)[1]);
    // --inspect-port=0: the inspector Attach opens takes any free port (9229 may be another run's)
    const worker = spawn(process.execPath, ['--inspect-port=0', path.join(ROOT, 'test/fixtures/node/bullmqWorker.js')],
      { env: { ...process.env, REDIS_PORT: String(redisPort) }, stdio: 'ignore', detached: true });
    const queue = new Queue('emails', { connection: { host: '127.0.0.1', port: redisPort } });
    let n = 0;
    const producer = setInterval(() => { for (let i = 0; i < 10; i++) void queue.add('welcome', { to: `user-${++n}@example.com` }).catch(() => undefined); }, 300);
    try {
      await openWorkerLens(page);
      const row = page.getByRole('treeitem', { name: new RegExp(`^node bullmqWorker\\.js, pid ${worker.pid}, inspector off, can open`) });
      await row.waitFor({ timeout: 60000 });
      await ctx.shot('workers-node');
      await clickInline(page, row, 'Attach to Worker');
      const attached = page.getByRole('treeitem', { name: new RegExp(`^node bullmqWorker\\.js, pid ${worker.pid}, attached`) });
      await attached.waitFor({ timeout: 60000 });
      await heapShows(page, worker.pid);
      // Each count is a full V8 snapshot, so the view may wait long between them (it says so):
      // narrow it to the leaking type and ask for counts now.
      // Room for the rows (the Heap view's cost note is one line now, and its page scrolls; Workers
      // is folded anyway so the screenshot shows the table).
      await setViews(page, { Workers: false });
      await runCommand(page, 'Worker Lens: Filter Heap Types…');
      await page.locator('.quick-input-widget input').fill('ProcessedJob');
      await page.keyboard.press('Enter');
      try {
        const first = await until('ProcessedJob in the Heap view with a positive Δ', async () => {
          const r = await heapRow(page, 'ProcessedJob').catch(() => null);
          if (r && r.delta > 0) return r;
          await runCommand(page, REFRESH);
          return null;
        }, 120000, 3000);
        const note = await heapFrame(page).locator('.cost-note').getByText(/each count is a full V8 heap snapshot/).count();
        ctx.log(`    ProcessedJob count ${first.count}, Δ ${first.delta}${note ? '; the view states the snapshot cost and the stretched interval' : ''}`);
        await ctx.shot('heap-node-worker');
      } finally {
        await runCommand(page, 'Worker Lens: Clear Heap Filter');
        await setViews(page, { Workers: true });
      }
      // The row re-renders on every Workers refresh: retry the hover + click until it took.
      await until('the row back to not attached (Detach)', async () => {
        if (!(await attached.count())) return true;
        await clickInline(page, attached, 'Detach').catch(() => undefined);
        return !(await attached.count());
      }, 60000, 1000);
      if (worker.exitCode !== null) throw new Error(`the BullMQ worker exited (${worker.exitCode})`);
    } finally {
      clearInterval(producer);
      await queue.close().catch(() => undefined);
      try { process.kill(-worker.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  },
};
