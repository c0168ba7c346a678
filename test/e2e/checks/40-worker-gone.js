// Issue 6: killing the attached child: the view says the worker is gone, offers the replacement
// child, and the extension keeps working (attaching to the replacement shows its heap).
'use strict';
const { heapFrame, heapShows, childrenOf, until, openWorkerLens, heapRow, notification, setViews } = require('./lib');

module.exports = {
  name: 'worker-gone',
  order: 40,
  async run(page, ctx) {
    const w = ctx.injected;
    if (!w) throw new Error('needs the attach-inject check first');
    await openWorkerLens(page);
    process.kill(w.child, 'SIGKILL');
    // The Heap view's message says so and keeps the last counts.
    await heapFrame(page).locator('.status-line').getByText(new RegExp(`pid ${w.child}\\) is gone`)).first().waitFor({ timeout: 30000 });
    // Issue 13: the Tasks view (it follows the Heap view's worker) keeps no header of the gone worker
    const tasksHeader = page.locator('.pane-header', { hasText: 'Tasks' }).first();
    const restoreTasks = await setViews(page, { Tasks: true });
    const tasksPane = tasksHeader.locator('..');  // the Tasks pane itself (its header's parent)
    await tasksPane.locator('.welcome-view-content', { hasText: 'No worker attached' }).waitFor({ timeout: 15000 });
    if (await tasksPane.getByText(`pid ${w.child}`).count()) throw new Error('the Tasks view still shows the gone worker');
    await ctx.shot('tasks-after-worker-gone');
    await restoreTasks();
    const replacement = await until('the pool to start a replacement child', () => childrenOf(w.main).find(p => !w.kids.includes(p)), 30000);
    const offer = await notification(page, `in its place`, 45000);
    const text = await offer.textContent();
    if (!text.includes(`pid ${replacement}`)) throw new Error(`offer names the wrong process: ${text}`);
    await ctx.shot('worker-gone');
    // dispatch: the toast may sit under the notification center's animation, which swallows pointer clicks
    await offer.getByRole('button', { name: 'Attach to replacement' }).dispatchEvent('click');
    await page.getByRole('treeitem', { name: new RegExp(`pid ${replacement}, attached`) }).waitFor({ timeout: 90000 });
    await heapShows(page, replacement);
    await until('Heap view shows the replacement\'s counts', async () => !!(await heapRow(page, 'dict')), 30000);
  },
};
