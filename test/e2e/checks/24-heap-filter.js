// Issue 13: the Heap filter matches what is shown (or a dotted qualified name), says "no type
// matches" instead of a blank list, and the view says what its columns are.
'use strict';
const { runCommand, until, heapRow } = require('./lib');

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
    const heap = page.locator('.pane', { hasText: 'Heap' });
    try {
      await filter(page, 'builtins.dict');
      await until('only dict rows', async () => (await heapRow(page, 'dict')) && (await page.getByRole('treeitem', { name: /^Payload: / }).count()) === 0, 20000);
      await filter(page, 'zzz-no-such-type');
      await heap.getByText(/no type matches “zzz-no-such-type”/).first().waitFor({ timeout: 20000 });
      await ctx.shot('heap-no-type-matches');
    } finally {
      await runCommand(page, 'Worker Lens: Clear Heap Filter');
    }
    await until('Payload back after clearing the filter', () => heapRow(page, 'Payload'), 20000);
    // What the numbers after each type are: a tree has no column headers, so the view's message says.
    await page.locator('.pane', { hasText: 'Heap' }).getByText(/columns: count · Δ · size/).first().waitFor({ timeout: 10000 });
  },
};
