// Issue 7: from the Heap view, "Show Retainers" on the leaked type opens the Retainers panel; its
// SVG has the root `leaky_storage` connected to Payload; clicking the root opens tasks.py at the
// definition of leaky_storage.
'use strict';
const fs = require('fs');
const path = require('path');
const { until, openWorkerLens, panelFrame, hasWebview, heapRowLocator } = require('./lib');

module.exports = {
  name: 'retainers',
  order: 25,
  async run(page, ctx) {
    if (!ctx.agentWorker) throw new Error('needs the attach-agent check first');
    await openWorkerLens(page);
    // Pause the Heap view first (as a user would to click a row that refreshes every 2 s).
    const heapHeader = page.locator('.pane-header', { hasText: 'Heap' }).first();
    await heapHeader.hover();
    await heapHeader.locator('.action-label[aria-label="Pause Heap Refresh"]').click();
    try {
      const frame = panelFrame(page);
      const root = frame.locator('svg g.node.root[data-label="leaky_storage"]').first();
      await until('the Retainers panel to open from the context menu', async () => {
        if (await hasWebview(page, 'retainers')) return true;
        await page.keyboard.press('Escape');
        await heapRowLocator(page, 'Payload').click({ button: 'right' });
        const item = page.locator('.context-view .monaco-menu').getByRole('menuitem', { name: 'Show Retainers' });
        await item.waitFor({ timeout: 5000 });
        // The keyboard, as a user can: a pointer click on VS Code web's menu item is sometimes lost.
        await page.keyboard.press('ArrowDown');
        await page.keyboard.press('Enter');
        return until('the Retainers page', () => hasWebview(page, 'retainers'), 5000, 250).catch(() => null);
      }, 45000, 500);
      await root.waitFor({ timeout: 90000 });
      const rootId = await root.getAttribute('data-id');
      const targets = await frame.locator(`svg g.edge[data-from="${rootId}"]`).evaluateAll(es => es.map(e => e.getAttribute('data-to')));
      const types = [];
      for (const id of targets) types.push(await frame.locator(`svg g.node[data-id="${id}"]`).getAttribute('data-type'));
      if (!types.includes('Payload')) throw new Error(`leaky_storage connects to ${types.join(', ') || 'nothing'}, not Payload`);
      const count = await frame.locator('svg g.node.target[data-type="Payload"]').count();
      if (!count) throw new Error('no Payload target node');
      // What a person sees: the target node drawn whole inside the graph area (not under the details pane).
      await until('the Payload node inside the graph area', async () => {
        const r = await frame.locator('svg g.node.target[data-type="Payload"]').first().evaluate(g => {
          const b = g.getBoundingClientRect(), a = g.ownerSVGElement.getBoundingClientRect();
          return { inside: b.left >= a.left - 1 && b.right <= a.right + 1 && b.top >= a.top - 1 && b.bottom <= a.bottom + 1, b: [b.left, b.right], a: [a.left, a.right] };
        });
        if (!r.inside) ctx.log(`    Payload node ${JSON.stringify(r.b)} vs graph area ${JSON.stringify(r.a)}`);
        return r.inside || null;
      }, 10000, 1000);
      await ctx.shot('retainers-panel');
      // Click the root: tasks.py opens at `leaky_storage = []`.
      const want = fs.readFileSync(path.join(ctx.workspace, 'tasks.py'), 'utf8').split('\n').findIndex(l => /^leaky_storage\s*=/.test(l)) + 1;
      await root.click();
      await page.locator('.tabs-container .tab.active', { hasText: 'tasks.py' }).waitFor({ timeout: 30000 });
      await until(`cursor on line ${want}`, async () => /Ln (\d+),/.exec(await page.locator('.statusbar').textContent() || '')?.[1] === String(want), 15000);
    } finally {
      // Never leave the Heap view paused for the checks after this one.
      await page.keyboard.press('Escape');
      await heapHeader.hover();
      await heapHeader.locator('.action-label[aria-label="Resume Heap Refresh"]').click({ timeout: 5000 }).catch(() => { });
    }
  },
};
