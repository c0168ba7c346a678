// Issue 13: the Heap view is a table aligned at the default sidebar width — numbers right-aligned
// in their columns, Shallow (exact or ≈ sampled) and Retained side by side (Retained known for
// Payload after the retainers check's Show Retainers, "—" with the reason elsewhere) — and each
// attached worker keeps its baseline and Δ when the view switches to another worker and back.
'use strict';
const { until, openWorkerLens, clickInline, heapFrame, heapRow, heapRowLocator, heapShows, setViews } = require('./lib');

async function cellRights(frame, cls) {
  return frame.locator(`tbody tr td.${cls}`).evaluateAll(tds => tds.filter(td => td.offsetParent).slice(0, 12).map(td => Math.round(td.getBoundingClientRect().right - parseFloat(getComputedStyle(td).paddingRight))));
}

module.exports = {
  name: 'heap-table',
  order: 26,
  async run(page, ctx) {
    const w = ctx.agentWorker;
    if (!w) throw new Error('needs the attach-agent check first');
    await openWorkerLens(page);
    const frame = heapFrame(page);
    const payload = heapRowLocator(page, 'Payload');
    await payload.waitFor({ timeout: 30000 });
    const width = await frame.locator('#app').evaluate(e => e.getBoundingClientRect().width);
    ctx.log(`    Heap view ${Math.round(width)} px wide`);
    // every visible numeric column: the digits end on one vertical line
    for (const cls of ['col-count', 'col-delta', 'col-size', 'col-retained']) {
      const rights = await cellRights(frame, cls);
      if (rights.length && new Set(rights).size > 1) throw new Error(`${cls} not aligned: right edges ${rights.join(', ')}`);
    }
    const visible = await frame.locator('thead th').evaluateAll(ths => ths.filter(th => th.offsetParent).map(th => th.innerText.replace(/ [▲▼]$/, '')));
    ctx.log(`    columns shown: ${visible.join(' | ')}`);
    for (const must of ['Type', 'Δ', 'Shallow', 'Retained']) if (!visible.includes(must)) throw new Error(`column ${must} hidden at ${Math.round(width)} px`);
    // nothing cut: the type names and numbers fit their cells
    const cut = await frame.locator('tbody tr td.num').evaluateAll(tds => tds.filter(td => td.offsetParent && td.scrollWidth > td.clientWidth + 1).map(td => td.innerText));
    if (cut.length) throw new Error(`numbers cut off: ${cut.slice(0, 5).join(', ')}`);
    // Shallow and Retained: Payload is fixed-size (exact), its Retained comes from the retainers check's snapshot
    const retained = await until('Payload retained size known', async () => { const t = await payload.locator('td.col-retained').innerText(); return /\d/.test(t) && t; }, 30000);
    const shallow = await payload.locator('td.col-size').innerText();
    const shallowTip = await payload.locator('td.col-size').getAttribute('title');
    const retainedTip = await payload.locator('td.col-retained').getAttribute('title');
    if (shallow.startsWith('≈') || !/each, exact \(sys\.getsizeof\)/.test(shallowTip)) throw new Error(`Payload shallow ${shallow}: ${shallowTip}`);
    if (!/retained by the [\d,]+ instances in the snapshot of .*Show Retainers of Payload/.test(retainedTip)) throw new Error(`Payload retained tooltip: ${retainedTip}`);
    ctx.log(`    Payload: shallow ${shallow} (${/× ([\d.]+ B) each/.exec(shallowTip)?.[1]} each), retained ${retained}`);
    const dictSize = await heapRowLocator(page, 'dict').locator('td.col-size').innerText();
    if (!dictSize.startsWith('≈')) throw new Error(`dict shallow should be sampled (≈): ${dictSize}`);
    const unknown = await frame.locator('tbody tr td.col-retained', { hasText: '—' }).first().getAttribute('title');
    if (!/take a snapshot|names types without their module|names each class object by itself/i.test(unknown || '')) throw new Error(`"—" without a reason: ${unknown}`);
    // the screenshot with room for the table: the Workers pane folded (other workers on this machine fill it)
    await setViews(page, { Workers: false });
    await new Promise(r => setTimeout(r, 1500));
    await ctx.shot('heap-table');

    // Δ survives switching: attach the other child (the view follows it), then show the first again
    const first = await heapRow(page, 'Payload');
    const since = await frame.locator('.status-line').innerText();
    // how the counts were taken, on the status line's tooltip (and what of the agent's own they leave out)
    const how = await frame.locator('.status-line').getAttribute('title');
    if (!/^Counts: a gc\.get_objects\(\) walk \(the last refresh, with the memory breakdown, took \d+ ms of the worker's time\)/.test(how || '')) throw new Error(`status tooltip: ${how}`);
    ctx.log(`    status tooltip: ${how.replace(/\n/g, ' | ')}`);
    const baselineAt = /Δ since ([^·]+)/.exec(since)?.[1]?.trim();
    const other = w.children.find(p => p !== w.target);
    const otherRow = page.getByRole('treeitem', { name: new RegExp(`^ForkPoolWorker-\\d+, pid ${other}, `) });
    await setViews(page, { Workers: true });
    await otherRow.waitFor({ timeout: 30000 });
    if (!/attached/.test(await otherRow.getAttribute('aria-label'))) await clickInline(page, otherRow, 'Attach to Worker');
    await page.getByRole('treeitem', { name: new RegExp(`pid ${other}, attached`) }).waitFor({ timeout: 60000 });
    await page.getByRole('treeitem', { name: new RegExp(`pid ${other}, attached`) }).click();
    await heapShows(page, other);
    await until('the other child\'s counts', () => heapRow(page, 'dict'), 30000);
    await ctx.shot('heap-table-other-worker');
    await page.getByRole('treeitem', { name: new RegExp(`pid ${w.target}, attached`) }).click();
    await heapShows(page, w.target);
    const back = await until('Payload of the first child again', () => heapRow(page, 'Payload'), 30000);
    const sinceBack = /Δ since ([^·]+)/.exec(await frame.locator('.status-line').innerText())?.[1]?.trim();
    if (sinceBack !== baselineAt) throw new Error(`baseline changed on switching back: ${baselineAt} → ${sinceBack}`);
    if (back.delta < first.delta) throw new Error(`Δ lost on switching back: ${first.delta} → ${back.delta}`);
    ctx.log(`    Payload Δ ${first.delta} before switching, ${back.delta} after (baseline ${baselineAt} kept)`);
    await ctx.shot('heap-table-switched-back');
  },
};
