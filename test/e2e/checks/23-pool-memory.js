// Issue 12, prefork in the UI: attaching the example worker's MAIN process (prefork -c 2, every
// child with its agent, the producer sending leaking tasks) samples the main beside its pool
// children in the Pool Memory view — the same code as `workerlens heap --pid MAIN` — marks the
// child where the leak is, and the notification's "Attach pid N (ForkPoolWorker-M)" shows that child
// in the Heap view.
'use strict';
const { until, openWorkerLens, clickInline, heapShows, notification, setViews } = require('./lib');

module.exports = {
  name: 'pool-memory',
  order: 23,
  async run(page, ctx) {
    if (!ctx.agentWorker) throw new Error('needs the attach-agent check first');
    const { main, children } = ctx.agentWorker;
    await openWorkerLens(page);
    const mainRow = page.getByRole('treeitem', { name: new RegExp(`, pid ${main}, agent running`) }).first();
    await mainRow.waitFor({ timeout: 30000 });
    await clickInline(page, mainRow, 'Attach to Worker');
    await page.getByRole('treeitem', { name: new RegExp(`, pid ${main}, attached`) }).first().waitFor({ timeout: 30000 });
    // room for the Pool Memory rows (the tree renders only the rows in view): fold Workers and Heap
    const restore = await setViews(page, { Workers: false, 'Pool Memory': true });  // not the Heap view: the checks after this one read its page
    try {
      const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Pool Memory' }) }).first();
      await pane.waitFor({ timeout: 30000 });
      // one row per process (the main and both children, each with its RSS and state); the child that grows is marked
      const leakRow = await until('a pool child marked "the leak is here" in Pool Memory', async () => {
        const items = pane.getByRole('treeitem');
        const n = await items.count();
        const names = [];
        for (let i = 0; i < n; i++) names.push(await items.nth(i).getAttribute('aria-label'));
        const hit = names.find(s => s && /^pid \d+ \(ForkPoolWorker-\d+\): RSS .* · grows · the leak is here$/.test(s));
        const final = /^(The leak is in|No pool child grows)/.test(await pane.locator('.message').first().innerText().catch(() => ''));
        return final && hit && { hit, names };
      }, 150000, 1000);
      ctx.log(`    ${leakRow.names.filter(Boolean).join(' | ')}`);
      const procRows = leakRow.names.filter(s => s && /^pid (\d+).*: RSS [\d.]+ (KB|MB|GB)/.test(s));
      for (const pid of [main, ...children]) {
        if (!procRows.some(s => s.startsWith(`pid ${pid} `) || s.startsWith(`pid ${pid}:`))) throw new Error(`pid ${pid} missing beside the others: ${JSON.stringify(procRows)}`);
      }
      if (!procRows.some(s => s.startsWith(`pid ${main}`) && /· (no steady growth|fragmented)$/.test(s))) throw new Error(`the main should be flat: ${JSON.stringify(procRows)}`);
      const message = await pane.locator('.message').first().innerText().catch(() => '');
      ctx.log(`    ${message}`);
      if (!/^The leak is in .*ForkPoolWorker-\d/.test(message) || !/The main process is flat/.test(message)) throw new Error(`Pool Memory message: ${message}`);
      const leakPid = +/^pid (\d+)/.exec(leakRow.hit)[1];
      // expanded: the verdict and the parts that grew, each with how it was obtained (re-located by
      // pid each try: the tree redraws its rows)
      await until(`the row of pid ${leakPid} expanded`, async () => {
        const row = pane.getByRole('treeitem', { name: new RegExp(`^pid ${leakPid} \\(ForkPoolWorker`) }).first();
        if ((await row.getAttribute('aria-expanded', { timeout: 5000 })) === 'true') return true;
        await row.scrollIntoViewIfNeeded({ timeout: 5000 });
        await row.locator('.monaco-tl-twistie').click({ timeout: 5000 });
        return (await row.getAttribute('aria-expanded', { timeout: 5000 })) === 'true';
      }, 45000, 500);
      await pane.getByRole('treeitem', { name: /^Next: / }).first().waitFor({ timeout: 10000 });
      await pane.getByRole('treeitem', { name: /^[+−±][\d.]+ (B|KB|MB) .*\((exact|estimated); / }).first().waitFor({ timeout: 10000 });
      await ctx.shot('pool-memory');
      await page.locator('.part.sidebar').screenshot({ path: require('path').join(ctx.shotsDir, 'pool-memory-view.png') });  // README's image
      // the notification leads to that child (its button attaches it and shows it in the Heap view)
      const n = await notification(page, 'The leak is in', 20000);
      await n.locator('.monaco-button', { hasText: new RegExp(`^Attach pid ${leakPid} \\(ForkPoolWorker-\\d+\\)$`) }).first().click();
      await restore();  // the Workers view again (as before the check)
      await heapShows(page, leakPid);
      await ctx.shot('pool-memory-attached');
    } finally {
      await restore();
    }
    // leave the main detached for the checks that follow (they look at the child)
    const attachedMain = page.getByRole('treeitem', { name: new RegExp(`, pid ${main}, attached`) }).first();
    await clickInline(page, attachedMain, 'Detach').catch(() => { });
  },
};
