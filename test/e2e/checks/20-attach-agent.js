// Issue 6: with the example worker started with --workerlens (prefork, 2 children) and the producer
// sending leaking tasks, Workers shows main + 2 children; Attach on a child; the Heap view shows
// Payload with a positive Δ that grows between two refreshes.
'use strict';
const { heapShows, busiestChild, childrenOf, until, openWorkerLens, clickInline, heapRow } = require('./lib');

module.exports = {
  name: 'attach-agent',
  order: 20,
  async run(page, ctx) {
    const worker = ctx.startWorker({ agent: true });
    ctx.stack.startProducer(ctx.tmp, ctx.workspace, ctx.redis.url, 10);
    const kids = await until('2 pool children', () => { const k = childrenOf(worker.child.pid); return k.length === 2 && k; }, 60000);
    ctx.agentWorker = { main: worker.child.pid, children: kids };
    await openWorkerLens(page);
    // Main + both children, each with its agent running (discovery files read).
    const main = page.getByRole('treeitem', { name: new RegExp(`, pid ${worker.child.pid}, agent running`) });
    await main.waitFor({ timeout: 60000 });
    const rows = [];
    for (const pid of kids) {
      const row = page.getByRole('treeitem', { name: new RegExp(`^ForkPoolWorker-\\d+, pid ${pid}, agent running`) });
      await row.waitFor({ timeout: 30000 });
      rows.push(row);
    }
    await ctx.shot('workers-celery');
    const target = await busiestChild(worker.logFile, kids);
    ctx.agentWorker.target = target;
    ctx.agentWorker.attached = target;
    await clickInline(page, rows[kids.indexOf(target)], 'Attach to Worker');
    await page.getByRole('treeitem', { name: new RegExp(`pid ${target}, attached`) }).waitFor({ timeout: 30000 });
    await heapShows(page, target);
    const first = await until('Payload in the Heap view with a positive Δ', async () => { const r = await heapRow(page, 'Payload'); return r && r.delta > 0 && r; }, 60000);
    const later = await until(`Payload Δ above ${first.delta}`, async () => { const r = await heapRow(page, 'Payload'); return r && r.delta > first.delta && r; }, 30000);
    ctx.log(`    Payload Δ ${first.delta} → ${later.delta} (count ${later.count}${later.growing ? ', flagged growing' : ''})`);
    await ctx.shot('heap-view');
  },
};
