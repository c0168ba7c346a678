// Issue 15: the Fleet view lists every Celery worker on the broker, grouped by host: a real
// redis-server and real Celery prefork workers on two "hosts" (network namespaces with their own
// hostname, made by test/fixtures/fleet/fleet_env.py), connected with "Connect to Broker…"; the
// leaking worker ranks first and the fleet-wide task list shows memory per run.
'use strict';
const cp = require('child_process');
const fs = require('fs');
const path = require('path');
const { until, openWorkerLens, runCommand } = require('./lib');

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
      const header = page.locator('.pane-header', { hasText: 'Fleet' });
      await header.waitFor({ timeout: 30000 });
      if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
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
      // Room for the Fleet view in the screenshot: fold the views above it.
      for (const title of ['Workers', 'Heap']) {
        const h = page.locator('.pane-header', { hasText: new RegExp(`^${title}`) }).first();
        if ((await h.getAttribute('aria-expanded')) === 'true') await h.click();
      }
      await page.getByRole('treeitem', { name: /^ForkPoolWorker-2/ }).first().waitFor({ timeout: 20000 });
      await ctx.shot('fleet');
    } finally {
      await stopFleet(env);
    }
  },
};
