// Issue 17: a real Celery worker (threads pool, --workerlens) whose two tasks deadlock on two locks
// (ABBA) and a third runs past its soft time limit. Attach; the Threads view shows the deadlock
// banner and row, the past-soft-limit task; clicking a frame opens hung_tasks.py at that line.
'use strict';
const cp = require('child_process');
const fs = require('fs');
const path = require('path');
const { until, openWorkerLens, runCommand, heapFrame, labelsAtSidebarWidth, setViews, widenSidebar } = require('./lib');

module.exports = {
  name: 'threads',
  order: 58, // before fleet: its many workers crowd the Workers tree (rows off-screen are not rendered)
  async run(page, ctx) {
    const file = path.join(ctx.workspace, 'hung_tasks.py');
    fs.copyFileSync(path.join(ctx.root, 'test', 'fixtures', 'agent', 'hung_tasks.py'), file);
    const source = fs.readFileSync(file, 'utf8').split('\n');
    const env = { CELERY_BROKER_URL: ctx.redis.url, PYTHONPATH: path.join(ctx.root, 'agent'), PYTHONUNBUFFERED: '1' };
    const worker = ctx.stack.spawnGroup('celery-hung', '/usr/bin/python3', ['-m', 'celery', '-A', 'hung_tasks', 'worker', '--pool', 'threads', '-c', '3',
      '-Q', 'hung', '-n', `hung-${process.pid}@localhost`, '--loglevel', 'INFO', '--without-gossip', '--without-mingle', '--without-heartbeat', '--workerlens'],
    { cwd: ctx.workspace, env, logFile: path.join(ctx.tmp, 'celery-hung.log') });
    try {
      await until('the hung worker ready', () => /ready\./.test(fs.readFileSync(path.join(ctx.tmp, 'celery-hung.log'), 'utf8')), 60000);
      cp.execFileSync('/usr/bin/python3', ['-c', "from hung_tasks import *\ntransfer_a_to_b.apply_async(queue='hung'); transfer_b_to_a.apply_async(queue='hung'); slow_report.apply_async((600,), queue='hung')"],
        { cwd: ctx.workspace, env: { ...process.env, CELERY_BROKER_URL: ctx.redis.url }, timeout: 60000 });
      await openWorkerLens(page);
      const row = page.getByRole('treeitem', { name: new RegExp(`, pid ${worker.child.pid}, agent running`) });
      await row.waitFor({ timeout: 60000 });
      // Attach through the command's picker (an inline action can land on the title bar's twin).
      await runCommand(page, 'Worker Lens: Attach to Worker');
      const qi = page.locator('.quick-input-widget');
      await qi.locator('input').fill(`pid ${worker.child.pid}`);  // other workers on the machine crowd the list
      await qi.locator('.monaco-list-row', { hasText: `(pid ${worker.child.pid})` }).first().click({ timeout: 30000 });
      // Attached: the Heap view names the pid (the Threads view follows the Heap view's worker).
      await heapFrame(page).locator('.status-line').getByText(new RegExp(`main \\(pid ${worker.child.pid}\\)`)).first().waitFor({ timeout: 60000 });
      // Make room: a wider sidebar, Workers and Heap collapsed, Threads open.
      await widenSidebar(page, 760);
      await new Promise(r => setTimeout(r, 2000));  // attaching reveals the Heap view: rearrange after it
      // Threads open first: the workbench keeps one view of a container expanded.
      await setViews(page, { Threads: true, Workers: false, Heap: false, Allocations: false, Tasks: false, 'Pool Memory': false, Fleet: false });
      // Rows by their text (label + description), as a person reads them.
      const texts = () => page.locator('.monaco-list-row').evaluateAll(rows => rows.map(r => `${r.getAttribute('aria-label')} | ${r.textContent}`));
      const rowWith = text => page.locator('.monaco-list-row', { hasText: text }).first();
      await rowWith('Deadlock: 2 threads').waitFor({ timeout: 60000 })
        .catch(async e => { throw new Error(`${e.message.split('\n')[0]}; rows: ${JSON.stringify((await texts()).slice(-12))}`); });
      // The view's message: the deadlock and the task past its soft limit, with its running time.
      const message = page.locator('.tree-explorer-viewlet-tree-view-message, .pane-body .message').filter({ hasText: 'Deadlock' }).first();
      const banner = await until('the banner names the deadlock and the late task', async () => {
        const text = (await message.textContent({ timeout: 2000 })) || '';
        return /Deadlock in main \(pid \d+\): 2 threads/.test(text) && /hung_tasks\.slow_report \d+ s past the soft time limit/.test(text) && (await message.isVisible()) && text;
      }, 30000);
      ctx.log(`    banner: ${banner.replace(/\s+/g, ' ').slice(0, 300)}`);
      await ctx.shot('threads-deadlock');
      // Issue 13: thread and frame names fit the default sidebar width.
      const { cut } = await labelsAtSidebarWidth(page, ctx, 'Threads', 'threads');
      if (cut.length) throw new Error(`Threads labels cut at the default sidebar width: ${cut.map(r => r.text).join(' | ')}`);
      // The deadlocked threads are expanded under the Deadlock row: click the task's own frame.
      const frame = page.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: /^transfer_a_to_b$/ }) }).first();
      await frame.waitFor({ timeout: 30000 });
      const line = +(/hung_tasks\.py:(\d+)/.exec(await frame.textContent() || '') || [0, 0])[1];
      if (!source[line - 1] || !/with lock_b:/.test(source[line - 1])) throw new Error(`the frame names line ${line}: ${source[line - 1]}`);
      await frame.click();
      await page.locator('.tabs-container .tab.active', { hasText: 'hung_tasks.py' }).waitFor({ timeout: 30000 });
      await until(`the cursor on line ${line}`, async () => new RegExp(`Ln ${line},`).test(await page.locator('#status\\.editor\\.selection').textContent({ timeout: 2000 })), 20000);
      await ctx.shot('threads-frame-source');
    } finally {
      ctx.stack.killGroup(worker, 'SIGKILL');
      // Leave the sidebar as later checks expect it: Workers and Heap open.
      await setViews(page, { Workers: true, Heap: true }).catch(() => undefined);
    }
  },
};
