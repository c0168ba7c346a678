// Issue 12, Tasks view: with the leaking pool child attached (after pool-memory), the Tasks view
// lists tasks.leak with its RSS change per run and what that rests on ("RSS measured on N of M
// runs" / "on every run"), expands into the spread of the measured runs (the agent's histogram),
// and its first row says which part of the process's memory grew meanwhile (process-wide).
'use strict';
const { openWorkerLens, setViews } = require('./lib');

module.exports = {
  name: 'tasks-memory',
  order: 23.5,
  async run(page, ctx) {
    if (!ctx.agentWorker) throw new Error('needs the attach-agent check first');
    await openWorkerLens(page);
    // the Heap view stays open (see pool-memory)
    const restore = await setViews(page, { Workers: false, 'Pool Memory': false, Tasks: true });
    try {
      const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /^Tasks/ }) }).first();
      const task = pane.getByRole('treeitem', { name: /^tasks\.leak: [\d,]+ runs · [+−]?[\d.]+ (B|KB|MB)\/run · RSS measured on (every run \([\d,]+\)|[\d,]+ of [\d,]+ runs)$/ }).first();
      const seen = async () => ({
        message: ((await pane.locator('.tree-explorer-viewlet-tree-view-message, .pane-body .message').first().textContent().catch(() => '')) || '').trim(),
        rows: await pane.getByRole('treeitem').evaluateAll(rs => rs.map(r => r.getAttribute('aria-label'))).catch(() => []),
      });
      // CI 2026-12-02 once listed tasks without tasks.leak although the Heap view showed the leaking
      // child: say what the view showed, then show that child again (as a user would) and wait once more
      // the tree renders only the rows in view and sorts by memory per run (a noisy leak can sort
      // last): scroll the list while waiting
      const scrollUntil = async (loc, ms, dy = 120) => {
        for (const end = Date.now() + ms; Date.now() < end && !(await loc.count());) {
          await pane.locator('.monaco-list').first().hover().catch(() => {});
          await page.mouse.wheel(0, dy);
          await new Promise(r => setTimeout(r, 1000));
        }
      };
      await scrollUntil(task, 40000);
      await task.waitFor({ timeout: 1000 }).catch(async () => {
        ctx.log(`    no tasks.leak row yet; the Tasks view shows ${JSON.stringify(await seen())}; selecting pid ${ctx.agentWorker.attached} again`);
        await setViews(page, { Workers: true });
        await page.getByRole('treeitem', { name: new RegExp(`pid ${ctx.agentWorker.attached}, attached`) }).first().click();
        await setViews(page, { Workers: false });
        await task.waitFor({ timeout: 40000 }).catch(async e => { throw new Error(`${e.message.split('\n')[0]}; Tasks view: ${JSON.stringify(await seen())}`); });
      });
      ctx.log(`    ${await task.getAttribute('aria-label')}`);
      const proc = pane.getByRole('treeitem', { name: /^Process RSS [+−±]?[\d.]+ (B|KB|MB): since [\d:]+ ?(AM|PM)? · / }).first();
      await scrollUntil(proc, 60000, -120);  // the first row (scrolled away above); the second breakdown comes 10 s after the first
      await proc.waitFor({ timeout: 1000 });
      ctx.log(`    ${await proc.getAttribute('aria-label')}`);
      await task.locator('.monaco-tl-twistie').click();
      const bucket = pane.getByRole('treeitem', { name: / per run: [\d,]+ runs? · [<>]?\d+ % of measured$/ }).first();
      await scrollUntil(bucket, 15000);  // its rows open below the task's, maybe below the fold
      await bucket.waitFor({ timeout: 1000 });
      ctx.log(`    ${await bucket.getAttribute('aria-label')}`);
      await ctx.shot('tasks-memory');
    } finally {
      await restore();
    }
  },
};
