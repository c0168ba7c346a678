// Issue 12: the Heap view's header row says where the attached child's RSS is and gives the
// verdict in words (the example worker leaks Payload objects into tasks.leaky_storage); expanded,
// it lists each part with how it was obtained; "Trim Memory Now" runs malloc_trim in the worker and
// a notification says how much came back. (Issue 13: the header is the first row of the webview.)
'use strict';
const { until, openWorkerLens, notification, heapFrame, setViews } = require('./lib');

module.exports = {
  name: 'memory-header',
  order: 22,
  async run(page, ctx) {
    if (!ctx.agentWorker) throw new Error('needs the attach-agent check first');
    await openWorkerLens(page);
    const frame = heapFrame(page);
    const header = frame.getByRole('treeitem', { name: /^Memory: RSS [\d.]+ (KB|MB|GB)/ }).first();
    await header.waitFor({ timeout: 60000 });
    // the verdict needs a few refreshes (growth is judged over samples)
    const label = await until('a verdict naming the leak in the Memory header', async () => {
      const name = await header.getAttribute('aria-label');
      return name && /(Payload objects grow|leaky_storage .* grows)/.test(name) && name;
    }, 90000, 1000);
    ctx.log(`    ${label}`);
    const heapHeader = page.locator('.pane-header', { hasText: 'Heap' }).first();
    await heapHeader.hover();
    await heapHeader.locator('.action-label[aria-label="Pause Heap Refresh"]').click();
    // room for the header's rows: fold the Workers pane (other workers on this machine fill it)
    const restoreWorkers = await setViews(page, { Workers: false });
    try {
      await until('the Memory row expanded', async () => {
        if ((await header.getAttribute('aria-expanded')) === 'true') return true;
        await header.locator('.mem-label').click();
        await new Promise(r => setTimeout(r, 500));
        return (await header.getAttribute('aria-expanded')) === 'true';
      }, 15000, 200);
      for (const part of [/^Next: /, /^[\d.]+ (KB|MB)\s+Python objects the gc tracks: estimated · \d+ %/, /^[\d.]+ (B|KB|MB)\s+free memory malloc holds and has not returned: exact · \d+ %/,
        /^[\d.]+ (KB|MB)\s+interpreter\/allocator overhead .*: exact/, /^[\d.]+ (B|KB|MB)\s+native allocations no Python object explains .*: estimated/]) {
        await frame.getByRole('treeitem', { name: part }).first().waitFor({ timeout: 15000 });
      }
      await ctx.shot('heap-memory-header');
      await header.getByRole('button', { name: 'Trim Memory Now (malloc_trim)' }).click();
      const n = await notification(page, 'Trim returned', 30000);
      ctx.log(`    ${(await n.innerText()).split('\n')[0]}`);
      await ctx.shot('heap-memory-trim');
    } finally {
      await heapHeader.hover().catch(() => { });
      await heapHeader.locator('.action-label[aria-label="Resume Heap Refresh"]').click().catch(() => { });
      if ((await header.getAttribute('aria-expanded').catch(() => null)) === 'true') await header.locator('.mem-label').click().catch(() => { });
      await restoreWorkers();
    }
  },
};
