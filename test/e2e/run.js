#!/usr/bin/env node
// Real-VS-Code tests, offline: code-server (VS Code 1.139) + headless Debian Chromium via playwright-core.
//   0. packages the extension (`npm run package`) and installs the .vsix with code-server's installer;
//      starts redis-server, the example Celery worker (prefork, 2 children, with the agent) and its
//      producer on loopback, in a scratch copy of examples/celery-leaky (the workspace);
//   1. "integration": mocha suites of out/test/integration run INSIDE the real extension host
//      (extensionDevelopmentPath + extensionTestsPath given through the workbench `payload`);
//   2. "ui": the workbench with the INSTALLED extension, driven by the checks in test/e2e/checks/*.js
//      (each exports { name, order, run(page, ctx) }), screenshots into test-results/screenshots;
//   3. prints "N passed, N failed", stops every process it started, exits non-zero on any failure.
// Env: CODE_SERVER, NODE24_BIN (else from scripts/setup.sh), CHROMIUM, WL_E2E_ONLY=integration|ui,
//      WL_E2E_CHECKS=name,name  WL_INTEGRATION_GREP=suite-title (mocha --grep)  KEEP_TMP=1  VERBOSE=1
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const util = require('util');
const { chromium } = require('playwright-core');
const stack = require('../../scripts/lib/stack');

const root = stack.root;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.SHOTS_DIR || path.join(root, 'test-results', 'screenshots');
const t0 = Date.now();
const log = (...a) => console.log(`[e2e +${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
let passed = 0, failed = 0;

function workbenchUrl(port, folder, payload) {
  const q = `folder=${encodeURIComponent(folder)}`;
  return `http://127.0.0.1:${port}/?${q}${payload ? `&payload=${encodeURIComponent(JSON.stringify(payload))}` : ''}`;
}

async function newPage(browser) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', e => log('[pageerror]', e.message));
  return page;
}

async function integrationPhase(browser, ctx) {
  const remote = p => `vscode-remote://127.0.0.1:${ctx.port}${p}`;
  const page = await newPage(browser);
  let done; const exited = new Promise(r => (done = r));
  await page.exposeFunction('codeAutomationExit', code => done(code)); // must precede goto
  await page.exposeFunction('codeAutomationLog', () => { });
  let summary = null, showAll = false;
  page.on('console', async msg => {
    let a; try { a = await Promise.all(msg.args().map(x => x.jsonValue())); } catch { a = [msg.text()]; }
    if (typeof a[0] === 'string' && a[0].startsWith('%c')) a = a.slice(2);
    const line = util.format(...a);
    const m = /^(\d+) passed, (\d+) failed$/.exec(line.trim());
    if (m) summary = { p: +m[1], f: +m[2] };
    if (/^\s+\d+ failing/.test(line)) showAll = true;
    if (process.env.VERBOSE || showAll || /✔|✓|passing|pending|^\s+\d+\) |^\s{2}\S/.test(line)) console.log('  [exthost]', line);
  });
  await page.goto(workbenchUrl(ctx.port, ctx.workspace, [
    ['extensionDevelopmentPath', remote(root)],
    ['extensionTestsPath', remote(path.join(root, 'out', 'test', 'integration', 'index'))],
    ['skipWelcome', 'true'],
  ]));
  const code = await Promise.race([exited, new Promise(r => setTimeout(() => r('timeout'), 300000))]);
  await page.screenshot({ path: path.join(SHOTS, 'integration-end.png') }).catch(() => { });
  await page.close().catch(() => { });
  log(`integration: codeAutomationExit(${code})`, summary ? `${summary.p} passed, ${summary.f} failed` : '(no summary line)');
  if (summary) { passed += summary.p; failed += summary.f; }
  if (code !== 0 && (!summary || summary.f === 0)) failed++; // crash, timeout or load error
}

function loadChecks() {
  const dir = path.join(__dirname, 'checks');
  const only = process.env.WL_E2E_CHECKS ? process.env.WL_E2E_CHECKS.split(',') : null;
  return fs.readdirSync(dir).filter(f => f.endsWith('.js')).map(f => require(path.join(dir, f))).filter(c => typeof c.run === 'function')
    .filter(c => !only || only.includes(c.name)).sort((a, b) => (a.order ?? 50) - (b.order ?? 50));
}

async function uiPhase(browser, ctx) {
  const page = await newPage(browser);
  ctx.page = page;
  ctx.shot = name => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  await page.goto(workbenchUrl(ctx.port, ctx.workspace, [['skipWelcome', 'true']]));
  for (const check of loadChecks()) {
    const started = Date.now();
    try {
      await page.keyboard.press('Escape'); // no menu or quick input left open by an earlier check
      await check.run(page, ctx);
      passed++; log(`  ✔ ui: ${check.name} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
    } catch (e) {
      failed++; log(`  ✘ ui: ${check.name} - ${String(e && e.message || e).split('\n').slice(0, 4).join(' | ')}`);
      await page.screenshot({ path: path.join(SHOTS, `fail-${check.name.replace(/\W+/g, '_')}.png`) }).catch(() => { });
      // What the workers said: the last lines of every log of the processes this run started.
      for (const f of fs.readdirSync(ctx.tmp).filter(f => f.endsWith('.log') && f !== 'code-server.log')) {
        const tail = fs.readFileSync(path.join(ctx.tmp, f), 'utf8').trim().split('\n').slice(-8).join('\n      ');
        log(`    ${f}:\n      ${tail}`);
      }
      if (check.fatal) break; // later checks need what this one set up
    }
  }
  await page.close().catch(() => { });
}

(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'workerlens-e2e-'));
  const ctx = { tmp, log, root, stack, shotsDir: SHOTS };
  let browser;
  const cleanup = async () => {
    if (browser) await browser.close().catch(() => { });
    await stack.stopAll();
    if (!process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  };
  process.on('SIGINT', () => { void cleanup().then(() => process.exit(130)); });
  try {
    const tools = stack.toolPaths();
    ctx.workspace = stack.copyExample(path.join(tmp, 'workspace'));
    log('packaging the extension (npm run package)');
    const vsix = stack.packageVsix();
    const extensionsDir = path.join(tmp, 'extensions');
    stack.installVsix(tools.codeServer, tools.node24Bin, tmp, vsix, extensionsDir);
    passed++; log('  ✔ package: npm run package builds a .vsix that code-server installs');
    const redis = await stack.startRedis(tmp);
    ctx.redis = redis;
    // Workers start lazily (a check calls ctx.startWorker()) so the first checks see an empty machine.
    ctx.startWorker = (opts = {}) => stack.startCelery(tmp, ctx.workspace, redis.url, opts);
    ctx.port = await stack.freePort();
    // Env given to code-server reaches the extension host: integration suites read it.
    await stack.startCodeServer({ ...tools, tmp, port: ctx.port, extensionsDir, env: {
      WORKERLENS_E2E: '1', WORKERLENS_E2E_BROKER: redis.url, WORKERLENS_E2E_WORKSPACE: ctx.workspace,
      ...(process.env.WL_INTEGRATION_GREP ? { WL_INTEGRATION_GREP: process.env.WL_INTEGRATION_GREP } : {}),
    } });
    log(`code-server on 127.0.0.1:${ctx.port}, redis ${redis.url}, tmp ${tmp}`);
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      env: { ...process.env, HOME: tmp, XDG_CONFIG_HOME: path.join(tmp, 'xdg-config'), XDG_CACHE_HOME: path.join(tmp, 'xdg-cache'), TMPDIR: tmp },
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'],
    });
    ctx.browser = browser;
    if (process.env.WL_E2E_ONLY !== 'ui') await integrationPhase(browser, ctx);
    if (process.env.WL_E2E_ONLY !== 'integration') await uiPhase(browser, ctx);
  } catch (e) { failed++; log('ERROR', e && e.stack || e); }
  finally { await cleanup(); }
  log('done');
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed || !passed ? 1 : 0);
})();
