// Issue 15: the Fleet view lists every Celery worker on the broker, grouped by host: a real
// redis-server and real Celery prefork workers on two "hosts" (network namespaces with their own
// hostname, made by test/fixtures/fleet/fleet_env.py), connected with "Connect to Broker…"; the
// leaking worker ranks first and the fleet-wide task list shows memory per run. Then Attach on the
// leaking remote child (its agent on the namespace's loopback, reached only through the socat tunnel
// of workerLens.fleet.tunnelCommand): the Heap view shows Payload growing; Detach stops the tunnel.
// Failure paths first: no tunnel command set, and a tunnel command that exits (its stderr shown).
'use strict';
const cp = require('child_process');
const fs = require('fs');
const path = require('path');
const { until, openWorkerLens, runCommand, clickInline, heapRow, heapShows, notification, labelsAtSidebarWidth, widenSidebar, setViews, hasWebview, heapRowLocator, panelFrame } = require('./lib');

/** Pids of processes whose command line matches `re` (the tunnel's socat, by what it forwards to). */
function pidsMatching(re) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try { if (re.test(fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' '))) out.push(+d); } catch { /* exited */ }
  }
  return out;
}

/** The leaky worker's child that ran the most tasks.leak, from the real CLI's fleet JSON. */
function busiestRemoteChild(root, broker, node) {
  const out = cp.execFileSync(process.execPath, [path.join(root, 'dist/cli.js'), 'fleet', '--broker', broker, '--python', '/usr/bin/python3', '--timeout', '2', '--format', 'json'], { encoding: 'utf8', timeout: 60000 });
  const w = JSON.parse(out).workers.find(x => x.node === node);
  const kids = (w && w.reply ? w.reply.processes : []).filter(p => p.role === 'child');
  const runs = p => (p.tasks || []).filter(t => t.name === 'tasks.leak').reduce((n, t) => n + t.runs, 0);
  kids.sort((a, b) => runs(b) - runs(a));
  return kids.length && runs(kids[0]) > 0 ? kids[0] : null;
}

function startFleet(root) {
  const child = cp.spawn('/usr/bin/python3', [path.join(root, 'test/fixtures/fleet/fleet_env.py'), '--hosts', '2'], { stdio: ['pipe', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '', err = '';
    child.stderr.on('data', d => { err += d; });
    child.stdout.on('data', d => { out += d; if (out.includes('\n')) resolve({ child, info: JSON.parse(out.split('\n')[0]) }); });
    child.on('exit', code => reject(new Error(`fleet_env exited ${code}: ${err.slice(-600)}`)));
  });
}

function stopFleet(env) {
  return new Promise(resolve => {
    if (!env || env.child.exitCode !== null) return resolve();
    const t = setTimeout(() => { env.child.kill('SIGKILL'); resolve(); }, 30000);
    env.child.on('exit', () => { clearTimeout(t); resolve(); });
    env.child.stdin.end(); // fleet_env removes its workers, redis and namespaces
  });
}

module.exports = {
  name: 'fleet',
  order: 60,
  async run(page, ctx) {
    if (process.getuid && process.getuid() !== 0) { ctx.log('    skipped: network namespaces need root'); return; }
    const env = await startFleet(ctx.root);
    try {
      const { broker, hosts } = env.info;
      const settingsDir = path.join(ctx.workspace, '.vscode');
      fs.mkdirSync(settingsDir, { recursive: true });
      const file = path.join(settingsDir, 'settings.json');
      const settings = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
      fs.writeFileSync(file, JSON.stringify({ ...settings, 'workerLens.fleet.python': '/usr/bin/python3', 'workerLens.fleet.refreshSeconds': 3, 'workerLens.fleet.timeout': 2 }, null, 2));
      await openWorkerLens(page);
      await setViews(page, { Fleet: true });
      await page.getByRole('button', { name: 'Connect to Broker…' }).first().waitFor({ timeout: 30000 });
      await runCommand(page, 'Worker Lens: Connect to Broker…');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible' });
      await input.fill(broker);
      await page.keyboard.press('Enter');
      for (const h of hosts) await page.getByRole('treeitem', { name: new RegExp(`^${h}`) }).first().waitFor({ timeout: 60000 });
      const leaky = page.getByRole('treeitem', { name: new RegExp(`^leaky@${hosts[0]}`) }).first();
      await leaky.waitFor({ timeout: 30000 });
      await page.getByRole('treeitem', { name: new RegExp(`^calm10@${hosts[1]}`) }).first().waitFor({ timeout: 30000 });
      cp.execFileSync('/usr/bin/python3', ['-c', "from tasks import leak\nfor i in range(80): leak.apply_async((i, 200000), queue='leaky')"],
        { cwd: path.join(ctx.root, 'examples/celery-leaky'), env: { ...process.env, CELERY_BROKER_URL: broker, PYTHONPATH: path.join(ctx.root, 'agent') }, timeout: 60000 });
      // Ranked first: the first worker row of the view is the leaking one, with its growth.
      await until('the leaking worker ranked first with growth', async () => {
        const rows = await page.locator('.pane', { hasText: 'Fleet' }).getByRole('treeitem').allTextContents();
        const workers = rows.filter(r => /@wlf/.test(r));
        return workers.length >= 2 && workers[0].startsWith(`leaky@${hosts[0]}`) && /\+\d[\d.]* MB/.test(workers[0]);
      }, 90000, 1000);
      await page.getByRole('treeitem', { name: /^tasks\.leak/ }).first().waitFor({ timeout: 30000 });
      await leaky.click();
      await page.keyboard.press('ArrowRight'); // expand: main + 2 children
      await page.getByRole('treeitem', { name: /^ForkPoolWorker-2/ }).first().waitFor({ timeout: 20000 });
      // Issue 13: worker and task names fit the default sidebar width.
      const { cut } = await labelsAtSidebarWidth(page, ctx, 'Fleet', 'fleet');
      if (cut.length) throw new Error(`Fleet labels cut at the default sidebar width: ${cut.map(r => r.text).join(' | ')}`);
      // The screenshot (README's Fleet image): a wider sidebar, the views above folded (by their titles:
      // a click on the header can land on one of its actions).
      ctx.log(`    sidebar widened to ${await widenSidebar(page, 820)} px for the screenshot`);
      await setViews(page, { Workers: false, Heap: false, Allocations: false, Tasks: false, 'Pool Memory': false, Threads: false });
      await page.getByRole('treeitem', { name: /^ForkPoolWorker-2/ }).first().waitFor({ timeout: 20000 });
      await page.mouse.move(1200, 700);
      await new Promise(r => setTimeout(r, 1000));
      await ctx.shot('fleet');
      await page.locator('.part.sidebar').screenshot({ path: path.join(ctx.shotsDir, 'fleet-view.png') });  // README's image

      // --- Attach through the tunnel ---
      const node = `leaky@${hosts[0]}`;
      const child = await until('a leaky child that ran tasks.leak', () => busiestRemoteChild(ctx.root, broker, node), 60000, 2000);
      const childRow = () => page.getByRole('treeitem', { name: new RegExp(`^${child.processName}, pid ${child.pid} on ${hosts[0]}`) }).first();
      const writeSettings = extra => {
        const now = JSON.parse(fs.readFileSync(file, 'utf8'));
        fs.writeFileSync(file, JSON.stringify({ ...now, ...extra }, null, 2));
      };
      // Attach on the child until `text` shows (a settings file change reaches the extension after a moment).
      const attachExpecting = async (text, tries = 4) => {
        for (let i = 1; ; i++) {
          // an empty notification list: the new error comes as a toast, not below older ones in the center
          await runCommand(page, 'Notifications: Clear All Notifications').catch(() => { });
          await page.keyboard.press('Escape');
          if (!(await childRow().isVisible())) { await leaky.click(); await page.keyboard.press('ArrowRight'); }
          await childRow().waitFor({ timeout: 30000 });
          await clickInline(page, childRow(), 'Attach through Tunnel');
          try { return await notification(page, text, 30000); } catch (e) { if (i >= tries) throw e; }
        }
      };
      // 1. No tunnel command: one clear error that says what to set, with an example.
      await attachExpecting('set workerLens.fleet.tunnelCommand');
      // 2. A tunnel command that exits: its exit code and stderr in the error; nothing left running.
      writeSettings({ 'workerLens.fleet.tunnelCommand': "sh -c 'echo wl-e2e no route to $0 >&2; exit 3' {host}" });
      await attachExpecting('the tunnel command exited (3) before 127.0.0.1:');
      await notification(page, `wl-e2e no route to ${hosts[0]}`, 5000);
      if (pidsMatching(/wl-e2e no route/).length) throw new Error('the failed tunnel command is still running');
      // 3. The real tunnel (socat into the namespace): the Heap view of the remote child.
      const tunnelRe = new RegExp(`TCP-LISTEN:\\d+.*ip netns exec ${hosts[0]} socat`);
      const before = new Set(pidsMatching(tunnelRe));
      writeSettings({ 'workerLens.fleet.tunnelCommand': env.info.tunnelCommand });
      await new Promise(r => setTimeout(r, 3000)); // the settings change reaches the extension
      if (!(await childRow().isVisible())) { await leaky.click(); await page.keyboard.press('ArrowRight'); }
      await childRow().waitFor({ timeout: 60000 });
      await clickInline(page, childRow(), 'Attach through Tunnel');
      await page.getByRole('treeitem', { name: new RegExp(`^${child.processName}, pid ${child.pid} on ${hosts[0]}, attached`) }).first().waitFor({ timeout: 60000 });
      const tunnelPids = pidsMatching(tunnelRe).filter(p => !before.has(p));
      if (!tunnelPids.length) throw new Error('attached, but no tunnel process was found');
      await setViews(page, { Heap: true });
      await heapShows(page, child.pid, hosts[0]);
      // More leaking tasks while the view watches: Payload grows in the remote child.
      const sendLeaks = () => cp.execFileSync('/usr/bin/python3', ['-c', "from tasks import leak\nfor i in range(60): leak.apply_async((i, 200000), queue='leaky')"],
        { cwd: path.join(ctx.root, 'examples/celery-leaky'), env: { ...process.env, CELERY_BROKER_URL: broker, PYTHONPATH: path.join(ctx.root, 'agent') }, timeout: 60000 });
      const grown = await until('Payload with a positive Δ in the remote child', async () => {
        sendLeaks();
        const r = await heapRow(page, 'Payload');
        return r && r.delta > 0 && r;
      }, 120000, 3000);
      ctx.log(`    remote ${node} pid ${child.pid} through the tunnel: Payload ${grown.count} instances, Δ +${grown.delta}`);
      // The Tasks view follows the shown worker: the remote child's own tasks.leak runs, with RSS per run.
      await setViews(page, { Tasks: true });
      const tasksPane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /^Tasks/ }) }).first();
      const remoteTask = tasksPane.getByRole('treeitem', { name: /^tasks\.leak: [\d,]+ runs · [+−]?[\d.]+ (B|KB|MB)\/run · RSS measured on / }).first();
      await remoteTask.waitFor({ timeout: 60000 });
      ctx.log(`    remote Tasks view: ${await remoteTask.getAttribute('aria-label')}`);
      await setViews(page, { Tasks: false });  // folded again: room for the Heap view in the shot
      // The Threads view too: the remote child's threads from its agent (no outside reading on a remote host).
      const threadsHeader = page.locator('.pane-header', { hasText: /^Threads/ }).first();
      await setViews(page, { Threads: true });
      const threadsMsg = page.locator('.pane', { has: threadsHeader }).locator('.tree-explorer-viewlet-tree-view-message, .pane-body .message')
        .filter({ hasText: new RegExp(`\\(pid ${child.pid}\\) on ${hosts[0]}: \\d+ threads, from the agent`) }).first();
      await threadsMsg.waitFor({ timeout: 60000 });
      await page.locator('.pane', { has: threadsHeader }).locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: /^MainThread$/ }) }).first().waitFor({ timeout: 30000 });
      ctx.log(`    remote Threads view: ${(await threadsMsg.textContent()).replace(/\s+/g, ' ').slice(0, 160)}`);
      // Retainers of the remote child's Payload (a heap snapshot through the tunnel): held by leaky_storage.
      await until('the Retainers panel of the remote Payload', async () => {
        if (await hasWebview(page, 'retainers')) return true;
        await page.keyboard.press('Escape');
        await heapRowLocator(page, 'Payload').click({ button: 'right' });
        await page.locator('.context-view .monaco-menu').getByRole('menuitem', { name: 'Show Retainers' }).waitFor({ timeout: 5000 });
        await page.keyboard.press('ArrowDown');
        await page.keyboard.press('Enter');
        return until('the Retainers page', () => hasWebview(page, 'retainers'), 5000, 250).catch(() => null);
      }, 60000, 500);
      const retainers = panelFrame(page, 'retainers');
      await retainers.locator('svg g.node.root[data-label="leaky_storage"]').first().waitFor({ timeout: 90000 });
      ctx.log(`    remote Retainers: ${(await retainers.locator('header').first().textContent()).replace(/\s+/g, ' ').slice(0, 160)}`);
      // The memory timeline samples the remote child through its agent (its pid is not this machine's /proc).
      await runCommand(page, 'Worker Lens: Show Memory Timeline');
      const timeline = panelFrame(page, 'timeline');
      // a remote session's key is negative (never a pid of this machine): find it by its legend label
      let series = [];
      await until('two RSS samples of the remote child in the timeline', async () => {
        const id = await timeline.locator('button.legend-item', { hasText: `(pid ${child.pid}) on ${hosts[0]}` }).first().getAttribute('data-worker', { timeout: 2000 }).catch(() => null);
        series = await timeline.locator('svg path.series.metric-rss').evaluateAll(ps => ps.map(p => [p.getAttribute('data-worker'), +p.getAttribute('data-count')])).catch(e => [[String(e.message).split('\n')[0], 0]]);
        return id !== null && series.some(([w, n]) => w === id && n >= 2);
      }, 60000, 1000).catch(e => { throw new Error(`${e.message}; RSS series (worker, samples): ${JSON.stringify(series)}`); });
      ctx.log(`    remote timeline: RSS series (worker, samples) ${JSON.stringify(series)}`);
      await runCommand(page, 'View: Close All Editors').catch(() => { });
      // Allocation tracking in the remote child: the leaking task's line first (its file is on that host).
      await setViews(page, { Allocations: true });
      const allocPane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /^Allocations/ }) }).first();
      await runCommand(page, 'Worker Lens: Start Allocation Tracking');  // the welcome's button is gone once a local worker was tracked
      const firstAlloc = await until('tasks.py first in the remote child\'s Allocations', async () => {
        sendLeaks();
        const label = await allocPane.getByRole('treeitem').first().getAttribute('aria-label', { timeout: 2000 }).catch(() => '');
        return /^tasks\.py line \d+: /.test(label || '') && label;
      }, 90000, 3000);
      ctx.log(`    remote Allocations: ${firstAlloc.slice(0, 160)}`);
      await runCommand(page, 'Worker Lens: Stop Allocation Tracking');
      await setViews(page, { Allocations: false });
      // A clean picture: the failure paths' notifications cleared, no tooltip over the Heap view.
      await runCommand(page, 'Notifications: Clear All Notifications').catch(() => { });
      await page.keyboard.press('Escape');
      await page.mouse.move(700, 450);
      // Room for the Heap table beside the Fleet rows: fold the other views.
      await setViews(page, { 'Pool Memory': false, Threads: false, Allocations: false, Tasks: false });
      await new Promise(r => setTimeout(r, 1500));
      await ctx.shot('fleet-attach-heap');
      // 4. Detach stops the tunnel's process group.
      // the Fleet view may redraw (a refresh adds or moves rows) between hover and click: retry until detached
      const attachedRow = () => page.getByRole('treeitem', { name: new RegExp(`pid ${child.pid} on ${hosts[0]}, attached`) }).first();
      await until('the remote child detached', async () => {
        if (!(await attachedRow().count())) return true;
        await clickInline(page, attachedRow(), 'Detach and Stop Tunnel').catch(() => undefined);
        await new Promise(r => setTimeout(r, 500));
        return !(await attachedRow().count());
      }, 60000, 1000);
      await until('the tunnel processes gone after Detach', () => tunnelPids.every(p => !fs.existsSync(`/proc/${p}`)), 15000);
      await childRow().waitFor({ timeout: 20000 });
      ctx.log(`    Detach stopped the tunnel (pids ${tunnelPids.join(', ')} gone)`);
    } finally {
      await stopFleet(env);
    }
  },
};
