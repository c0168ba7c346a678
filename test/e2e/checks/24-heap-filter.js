// Issue 13: the Heap filter (the palette command and the view's own box) matches what is shown (or
// a dotted qualified name), says "no type matches" instead of a blank list; the table has column
// headers that sort.
'use strict';
const { runCommand, until, heapRow, heapFrame } = require('./lib');

async function filter(page, text) {
  await runCommand(page, 'Worker Lens: Filter Heap Types…');
  const qi = page.locator('.quick-input-widget');
  await qi.locator('input').fill(text);
  await page.keyboard.press('Enter');
}

module.exports = {
  name: 'heap-filter',
  order: 24,
  async run(page, ctx) {
    if (!ctx.agentWorker) throw new Error('needs the attach-agent check first');
    const frame = heapFrame(page);
    const payloadRows = () => frame.getByRole('row', { name: /^Payload: / }).count();
    try {
      await filter(page, 'builtins.dict');
      await until('only dict rows', async () => (await heapRow(page, 'dict')) && (await payloadRows()) === 0, 20000);
      // the command's filter shows in the view's box
      await until('the filter box says builtins.dict', async () => (await frame.locator('input.filter').inputValue()) === 'builtins.dict', 10000);
      await filter(page, 'zzz-no-such-type');
      await frame.locator('.status-line').getByText(/no type matches “zzz-no-such-type”/).first().waitFor({ timeout: 20000 });
      await frame.getByText('No type matches “zzz-no-such-type”.').waitFor({ timeout: 10000 });
      await ctx.shot('heap-no-type-matches');
      // typing in the view's own box filters too
      await frame.locator('input.filter').fill('Payl');
      await until('only Payload after typing "Payl"', async () => (await payloadRows()) === 1 && (await frame.getByRole('row', { name: /^dict: / }).count()) === 0, 20000);
    } finally {
      await runCommand(page, 'Worker Lens: Clear Heap Filter');
    }
    await until('Payload back after clearing the filter', () => heapRow(page, 'Payload'), 20000);
    // What the numbers are: real column headers, which sort (click again: the other way).
    const heads = await frame.locator('thead th').allInnerTexts();
    if (!['Type', 'Count', 'Δ', 'Shallow', 'Retained'].every((h, i) => heads[i] && heads[i].startsWith(h))) throw new Error(`headers: ${heads.join(' | ')}`);
    const shallow = frame.locator('thead th').nth(3);
    await shallow.locator('button').click();
    await until('sorted by shallow size, largest first', async () => (await shallow.getAttribute('aria-sort')) === 'descending', 10000);
    await shallow.locator('button').click();
    await until('sorted by shallow size, smallest first', async () => (await shallow.getAttribute('aria-sort')) === 'ascending', 10000);
    await frame.locator('thead th').nth(2).locator('button').click();
    await until('back to Δ', async () => (await frame.locator('thead th').nth(2).getAttribute('aria-sort')) === 'descending', 10000);
  },
};
