// Issue 6: a worker started WITHOUT the agent: Attach injects it with gdb, then the Heap view
// shows the leaking type growing.
'use strict';
const { heapShows, busiestChild, childrenOf, until, openWorkerLens, clickInline, heapRow } = require('./lib');

module.exports = {
  name: 'attach-inject',
  order: 30,
  async run(page, ctx) {
    const worker = ctx.startWorker({ agent: false });
    const kids = await until('2 pool children of the agent-less worker', () => { const k = childrenOf(worker.child.pid); return k.length === 2 && k; }, 60000);
    if (!ctx.agentWorker) ctx.stack.startProducer(ctx.tmp, ctx.workspace, ctx.redis.url, 10);
    const target = await busiestChild(worker.logFile, kids);
    await openWorkerLens(page);
    const row = page.getByRole('treeitem', { name: new RegExp(`^ForkPoolWorker-\\d+, pid ${target}, injectable`) });
    await row.waitFor({ timeout: 60000 });
    await clickInline(page, row, 'Attach to Worker');
    await page.getByRole('treeitem', { name: new RegExp(`pid ${target}, attached`) }).waitFor({ timeout: 90000 });
    await heapShows(page, target);
    // The Heap view now shows the injected worker: Payload's Δ is counted from the attach.
    const first = await until('Payload with a positive Δ after injection', async () => { const r = await heapRow(page, 'Payload'); return r && r.delta > 0 && r; }, 60000);
    await until(`Payload Δ above ${first.delta}`, async () => { const r = await heapRow(page, 'Payload'); return r && r.delta > first.delta; }, 60000);
    ctx.injected = { main: worker.child.pid, child: target, kids };
    await ctx.shot('heap-view-injected');
  },
};
