// Issue 13: the Retainers panel (opened from the Heap view by the retainers check) is a pinned tab:
// single-clicking a file in the Explorer (which opens a preview editor) must not replace it, and
// its graph is still there when the user comes back to it.
'use strict';
const { until, openWorkerLens, panelFrame } = require('./lib');

module.exports = {
  name: 'retainers-pinned',
  order: 26,
  async run(page, ctx) {
    const tab = page.locator('.tabs-container .tab', { hasText: 'Retainers' }).first();
    await tab.waitFor({ timeout: 30000 }).catch(() => { throw new Error('needs the retainers check first: no Retainers tab'); });
    const before = await page.locator('.tabs-container .tab').evaluateAll(ts => ts.map(t => `${t.getAttribute('aria-label')}|${t.className}`));
    ctx.log(`    tabs before: ${before.join(' ; ')}`);
    if (/\bpreview\b|italic/.test(await tab.getAttribute('class') || '') || /preview/i.test(await tab.getAttribute('aria-label') || '')) throw new Error('the Retainers tab is a preview tab');
    // Focus the Retainers group, as a user who just looked at the graph has it.
    await tab.click();
    // Explorer: one click on a file opens it as a preview in the active group.
    // The Explorer from the activity bar (a key chord would go to the focused webview).
    await page.locator('.part.activitybar').getByRole('tab', { name: /^Explorer/ }).click();
    const file = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'producer.py' }).first();
    await file.waitFor({ timeout: 30000 });
    await file.click();
    await page.locator('.tabs-container .tab.active', { hasText: 'producer.py' }).waitFor({ timeout: 30000 });
    const after = await page.locator('.tabs-container .tab').evaluateAll(ts => ts.map(t => `${t.getAttribute('aria-label')}|${t.className}`));
    ctx.log(`    tabs after a single click on producer.py: ${after.join(' ; ')}`);
    await ctx.shot('retainers-after-explorer-click');
    if (!(await tab.count()) || !(await tab.isVisible())) throw new Error(`the Retainers tab is gone after a single click in the Explorer: ${after.join(' ; ')}`);
    // Back to it: the graph is drawn again (the page reloads; the host re-sends its state).
    await tab.click();
    const frame = panelFrame(page);
    await until('the graph again', async () => (await frame.locator('svg g.node.root[data-label="leaky_storage"]').count()) > 0, 30000);
    // Leave the editors as the retainers check did (tasks.py in front): later checks look for one webview.
    await page.locator('.tabs-container .tab', { hasText: 'tasks.py' }).first().click();
    await openWorkerLens(page);
  },
};
