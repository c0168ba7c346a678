// Issue 16: a pool child recycled at --max-memory-per-child and one killed with kill -9 show in the
// Workers view under their main process with the reason; clicking the killed one opens its last
// flight-recorder report (a read-only document), which names who holds the growing tasks.Payload
// (tasks.leaky_storage[N], the recorder's retainer path).
'use strict';
const cp = require('child_process');
const fs = require('fs');
const path = require('path');
const { childrenOf, until, openWorkerLens, setViews } = require('./lib');

function reportsDir() {
  const x = process.env.XDG_RUNTIME_DIR;
  const base = x && fs.existsSync(x) ? path.join(x, 'workerlens') : `/tmp/workerlens-${process.getuid()}`;
  return path.join(base, 'reports');
}

function reportsOf(mainPid) {
  const dir = reportsDir();
  let names = [];
  try { names = fs.readdirSync(dir); } catch { return []; }
  const out = [];
  for (const n of names.filter(x => /^\d+-\d+\.json$/.test(x))) {
    try { const r = JSON.parse(fs.readFileSync(path.join(dir, n), 'utf8')); if (r.ppid === mainPid) out.push(r); } catch { /* mid-rename or foreign */ }
  }
  return out;
}

function send(ctx, count, size) {
  cp.execFileSync('/usr/bin/python3', ['-c', `from tasks import leak\nfor i in range(${count}): leak.apply_async((i, ${size}), queue='flight')`],
    { cwd: ctx.workspace, env: { ...process.env, CELERY_BROKER_URL: ctx.redis.url }, timeout: 60000 });
}

module.exports = {
  name: 'flight-recorder',
  order: 45,
  async run(page, ctx) {
    const worker = ctx.startWorker({ concurrency: 1, agent: true, logName: 'celery-flight.log', extraEnv: { WORKERLENS_RECORDER_INTERVAL: '0.5' },
      extraArgs: ['-Q', 'flight', '--max-memory-per-child', '60000'] });
    const main = worker.child.pid;
    let restoreViews = async () => { };
    try {
      await until('the pool child', () => childrenOf(main).length === 1, 60000);
      send(ctx, 30, 2000000); // 2 MB kept per task: the child passes 60 MB and is recycled
      const recycled = await until('a child recycled at max_memory_per_child', () =>
        reportsOf(main).find(r => r.exit && r.exit.by === 'main process' && r.exit.reason === 'max_memory_per_child'), 90000);
      // the next child leaks small payloads steadily until its report names who holds them
      // (the recorder searches a path once growth is seen in two counts in a row)
      const producer = cp.spawn('/usr/bin/python3', ['-c', "import time\nfrom tasks import leak\nfor i in range(6000):\n    leak.apply_async((i, 100), queue='flight')\n    time.sleep(0.02)"],
        { cwd: ctx.workspace, env: { ...process.env, CELERY_BROKER_URL: ctx.redis.url }, stdio: 'ignore' });
      const payloadPath = r => ((r.objects && r.objects.growing) || []).find(g => g.type === 'tasks.Payload' && g.path);
      let victim;
      try {
        victim = await until('a live child whose report has the Payload path', () =>
          reportsOf(main).find(r => r.role === 'child' && !r.exit && r.pid !== recycled.pid && r.tasks.completed > 0 && payloadPath(r)), 90000);
      } finally {
        producer.kill('SIGKILL');
      }
      process.kill(victim.pid, 'SIGKILL');
      await until('the kill recorded', () => reportsOf(main).find(r => r.pid === victim.pid && r.exit && r.exit.reason === 'sigkill'), 60000);
      ctx.log(`    recycled pid ${recycled.pid}, killed pid ${victim.pid}`);

      await openWorkerLens(page);
      // room for the exited children's rows (the tree draws only the rows in view)
      restoreViews = await setViews(page, { Workers: true, Heap: false, Allocations: false, Tasks: false, 'Pool Memory': false });
      await page.getByRole('treeitem', { name: new RegExp(`, pid ${main}, agent running`) }).waitFor({ timeout: 60000 });
      await page.getByRole('treeitem', { name: /^Exited children, \d+ last reports/ }).first().waitFor({ timeout: 30000 });
      const recycledRow = page.getByRole('treeitem', { name: new RegExp(`^ForkPoolWorker-\\d+ \\(child 0\\), pid ${recycled.pid}, recycled: RSS \\d+ KiB over max_memory_per_child=60000 KiB`) });
      const killedRow = page.getByRole('treeitem', { name: new RegExp(`^ForkPoolWorker-\\d+ \\(child 0\\), pid ${victim.pid}, killed by signal 9 \\(SIGKILL\\): probably the OOM killer`) });
      await recycledRow.waitFor({ timeout: 30000 });
      await killedRow.waitFor({ timeout: 30000 });
      // a wider sidebar, so the screenshot shows each row's reason
      const sash = await page.locator('.part.sidebar').boundingBox();
      await page.mouse.move(sash.x + sash.width + 1, sash.y + 200);
      await page.mouse.down();
      await page.mouse.move(sash.x + 560, sash.y + 200, { steps: 5 });
      await page.mouse.up();
      await page.getByText('killed: signal 9 (OOM killer?)').first().waitFor({ timeout: 10000 });
      await ctx.shot('workers-exited-children');
      await killedRow.click();
      const editor = page.locator('.editor-instance .view-lines');
      const shown = async () => ((await editor.first().textContent()) || '').replace(/\u00a0/g, ' '); // the editor renders spaces as nbsp
      await until('the report open in an editor', async () => /Status: killed by signal 9/.test(await shown()), 30000);
      const tab = page.locator('.tab', { hasText: `report-${victim.pid}-` });
      await tab.first().waitFor({ timeout: 10000 });
      // the whole document, not only the lines in view (the editor draws only those): page through it
      const text = await (async () => {
        const lines = [];  // in order of first sight; a line's style.top is relative to the view, not the document
        await page.locator('.editor-group-container.active .editor-instance .view-lines').first().click({ position: { x: 4, y: 4 } });  // the report's editor, at its first line's start (a click mid-line scrolled it sideways)
        await page.keyboard.press('Control+Home');
        for (let i = 0; i < 20; i++) {
          const before = lines.length;
          const got = await page.locator('.editor-group-container.active .editor-instance .view-line').evaluateAll(ls => ls.map(l => [parseFloat(l.style.top) || 0, (l.textContent || '').replace(/\u00a0/g, ' ')]));
          for (const [, t] of got.sort((a, b) => a[0] - b[0])) if (!lines.includes(t)) lines.push(t);
          if (i > 0 && lines.length === before) break;
          await page.keyboard.press('PageDown');
          await new Promise(r => setTimeout(r, 200));
        }
        await page.keyboard.press('Control+Home');  // back to the top for the screenshot
        await new Promise(r => setTimeout(r, 500));
        return lines.join('\n');
      })();
      await until('the Payload path in the report', async () => /held by tasks\.leaky_storage\[\d+\]\s+\(one path from \d+ sampled instances?/.test(await shown()), 10000)
        .catch(async e => { throw new Error(`${e.message}: ${(await shown()).slice(0, 1500)}`); });
      for (const want of [`pid ${victim.pid}`, 'Memory: RSS', 'Tasks:', 'tasks.leak', 'tasks.Payload']) {
        if (!text.includes(want)) throw new Error(`the report lacks "${want}": ${text.slice(0, 600)}`);
      }
      await ctx.shot('flight-recorder-report');
    } finally {
      await restoreViews();
      try { process.kill(-main, 'SIGTERM'); } catch { /* gone */ }
    }
  },
};
