// Issue 7: with allocation tracking on in the attached child, the leaking task's allocating line is
// listed first in Allocations and decorated in the editor.
'use strict';
const fs = require('fs');
const path = require('path');
const { until, openWorkerLens, labelsAtSidebarWidth } = require('./lib');

module.exports = {
  name: 'allocations',
  order: 27,
  async run(page, ctx) {
    if (!ctx.agentWorker) throw new Error('needs the attach-agent check first');
    const source = fs.readFileSync(path.join(ctx.workspace, 'tasks.py'), 'utf8').split('\n');
    const line = source.findIndex(l => l.includes('leaky_storage.append(')) + 1;
    await openWorkerLens(page);
    await page.locator('.pane-header', { hasText: 'Allocations' }).click();
    await page.locator('.welcome-view-content').getByRole('button', { name: 'Start tracking' }).click();
    // Listed first: "tasks.py line N: …" (growth since the tracking started).
    await until(`tasks.py:${line} first in Allocations`, async () => {
      const first = page.locator('.pane', { hasText: 'Allocations' }).getByRole('treeitem').first();
      return new RegExp(`^tasks\\.py line ${line}: `).test(await first.getAttribute('aria-label', { timeout: 2000 }) || '');
    }, 60000);
    // Open tasks.py from the row: the decoration sits after that line.
    await page.locator('.pane', { hasText: 'Allocations' }).getByRole('treeitem').first().click();
    await page.locator('.tabs-container .tab.active', { hasText: 'tasks.py' }).waitFor({ timeout: 30000 });
    const decorated = await until('the ▲ decoration on the allocating line', () => page.evaluate(() => {
      for (const lineEl of document.querySelectorAll('.monaco-editor .view-line')) {
        for (const span of lineEl.querySelectorAll('span')) {
          const after = getComputedStyle(span, '::after').content;
          if (after && after.includes('since baseline')) return { text: lineEl.textContent, after };
        }
      }
      return null;
    }), 30000);
    if (!decorated.text.includes('leaky_storage.append(')) throw new Error(`decoration on the wrong line: ${decorated.text}`);
    ctx.log(`    decoration: ${decorated.after}`);
    await ctx.shot('allocations');
    // Issue 13: file:line labels fit the default sidebar width.
    const { cut } = await labelsAtSidebarWidth(page, ctx, 'Allocations', 'allocations');
    if (cut.length) throw new Error(`Allocations labels cut at the default sidebar width: ${cut.map(r => r.text).join(' | ')}`);
    await page.locator('.pane', { hasText: 'Allocations' }).hover();
    await page.locator('.pane-header', { hasText: 'Allocations' }).locator('.action-label[aria-label="Stop Allocation Tracking"]').click();
  },
};
