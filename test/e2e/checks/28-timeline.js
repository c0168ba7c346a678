// Issue 7: the Memory timeline shows a rising line for the leaking child and task markers.
'use strict';
const { until, runCommand, panelFrame } = require('./lib');

module.exports = {
  name: 'timeline',
  order: 28,
  async run(page, ctx) {
    if (!ctx.agentWorker) throw new Error('needs the attach-agent check first');
    await runCommand(page, 'Worker Lens: Show Memory Timeline');
    const frame = panelFrame(page);
    const series = frame.locator('svg path.series.metric-heapUsed').first();
    await series.waitFor({ timeout: 60000 });
    const read = async () => ({ n: +(await series.getAttribute('data-count')), last: +(await series.getAttribute('data-last')) });
    const first = await until('3 heap samples', async () => { const r = await read(); return r.n >= 3 && r; }, 30000);
    const later = await until('heap use rising', async () => { const r = await read(); return r.n > first.n + 2 && r.last > first.last && r; }, 40000);
    ctx.log(`    heap used ${first.last} → ${later.last} bytes over ${later.n - first.n} samples`);
    // Task markers: dense runs are merged per pixel column under one name, so look for any task
    // marker drawn, and for tasks.leak among them.
    await frame.locator('svg g.marker[data-name^="tasks."]').first().waitFor({ state: 'attached', timeout: 30000 });
    await until('a tasks.leak marker', async () => (await frame.locator('svg g.marker[data-names~="tasks.leak"]').count()) > 0, 30000);
    await ctx.shot('timeline');
  },
};
