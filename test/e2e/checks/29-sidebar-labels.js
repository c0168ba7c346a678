// Issue 13: the Workers, Allocations and Tasks views at the default sidebar width, with the worker
// attached by the attach-agent check: no row label is cut (descriptions may be: the tooltip has them).
// Threads and Fleet are looked at in their own checks. Screenshots: sidebar-<view>.png.
'use strict';
const { until, openWorkerLens, labelsAtSidebarWidth, setViews } = require('./lib');

module.exports = {
  name: 'sidebar-labels',
  order: 29,
  async run(page, ctx) {
    if (!ctx.agentWorker) throw new Error('needs the attach-agent check first');
    await openWorkerLens(page);
    const VIEWS = ['Workers', 'Heap', 'Allocations', 'Tasks', 'Fleet', 'Threads'];
    const show = only => setViews(page, Object.fromEntries(VIEWS.map(t => [t, [].concat(only).includes(t)])));
    const problems = [];
    await show('Workers');
    await page.locator('.pane', { hasText: 'Workers' }).getByRole('treeitem', { name: new RegExp(`pid ${ctx.agentWorker.attached}, attached`) }).waitFor({ timeout: 30000 });
    const workers = await labelsAtSidebarWidth(page, ctx, 'Workers', 'workers');
    // The attached child's row shows its memory, then its pid, before anything is cut; its visible part includes the memory's unit.
    const attached = workers.rows.find(r => r.text.includes(String(ctx.agentWorker.attached)));
    if (!attached || !/^ForkPoolWorker-\d+\s*[\d.]+ [KMG]?B( ▲[^·]+)? · \d+/.test(attached.text)) problems.push(`the attached row does not start with its memory: ${attached && attached.text}`);
    problems.push(...workers.cut.map(r => `Workers: "${r.text}"`));
    await show('Tasks');
    await until('task rows', async () => (await page.locator('.pane', { hasText: 'Tasks' }).getByRole('treeitem').count()) > 0, 60000);
    problems.push(...(await labelsAtSidebarWidth(page, ctx, 'Tasks', 'tasks')).cut.map(r => `Tasks: "${r.text}"`));
    await show(['Workers', 'Heap']);   // as the workbench opens them: later checks expect the Heap view in sight
    if (problems.length) throw new Error(`cut at the default sidebar width: ${problems.join(' | ')}`);
  },
};
