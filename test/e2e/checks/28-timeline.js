// Issue 7: the Memory timeline shows a rising line for the leaking child and task markers.
'use strict';
const { until, runCommand, panelFrame } = require('./lib');

module.exports = {
  name: 'timeline',
  order: 28,
  async run(page, ctx) {
    if (!ctx.agentWorker) throw new Error('needs the attach-agent check first');
    const openedAt = Date.now();
    await runCommand(page, 'Worker Lens: Show Memory Timeline');
    // The panel opened last: the Retainers panel (pinned, issue 13) may still be visible in its own group.
    const frame = panelFrame(page, 'timeline');
    const series = frame.locator('svg path.series.metric-heapUsed').first();
    await series.waitFor({ timeout: 60000 });
    // Issue 13: the history starts at the attach (check attach-agent, well before this panel opened).
    const rss = frame.locator(`svg path.series.metric-rss[data-worker="${ctx.agentWorker.attached}"]`).first();
    const firstT = +(await rss.getAttribute('data-first-t', { timeout: 30000 }));
    if (!(firstT > 0 && firstT < openedAt - 5000)) throw new Error(`the RSS line starts at ${new Date(firstT).toISOString()}, not before the panel opened (${new Date(openedAt).toISOString()})`);
    const summary = await frame.locator('#summary').textContent();
    if (!/sampled from the attach on \(since \d\d:\d\d:\d\d\)/.test(summary || '')) throw new Error(`the panel does not say from when it samples: "${summary}"`);
    ctx.log(`    history from ${((openedAt - firstT) / 1000).toFixed(0)} s before the panel opened; "${summary}"`);
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
