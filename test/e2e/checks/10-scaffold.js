// Issue 2: the extension is active in real VS Code, its container is in the activity bar, the
// Workers view shows (welcome text or workers), and a palette command runs.
'use strict';
const { runCommand, heapFrame } = require('./lib');

module.exports = {
  name: 'scaffold',
  order: 10,
  fatal: true,
  async run(page, ctx) {
    await page.locator('.monaco-workbench').waitFor({ timeout: 90000 });
    const icon = page.locator('.part.activitybar').getByRole('tab', { name: 'Worker Lens' });
    await icon.waitFor({ timeout: 60000 });
    await icon.click();
    // No worker runs yet: the Workers view shows its welcome text and the Attach button.
    await page.locator('.welcome-view-content', { hasText: 'Worker Lens attaches to a running worker' }).waitFor({ timeout: 30000 });
    // The Heap view (a webview) has no data until a worker is attached: its welcome text and button show.
    const heapWelcome = heapFrame(page).locator('.welcome', { hasText: 'Attach to a worker to see its live heap' });
    await heapWelcome.waitFor({ timeout: 30000 });
    await heapWelcome.getByRole('button', { name: 'Attach to worker' }).waitFor();
    await ctx.shot('workers-view');
    // A palette command runs: "Show Log" opens the Worker Lens log with the activation line.
    await runCommand(page, 'Worker Lens: Show Log');
    await page.locator('.part.panel').getByText('Worker Lens active').first().waitFor({ timeout: 30000 });
    await ctx.shot('show-log');
  },
};
