#!/usr/bin/env node
// Opens a running demo's URL in headless Chromium as a newcomer would and waits until the Workers
// view lists the example worker with its agent and a pool child. Used by scripts/fresh-check.sh.
// Usage: node scripts/lib/demoProbe.js URL SCREENSHOT.png   (exit 0 when seen, 1 with the reason)
'use strict';
const path = require('path');
const { chromium } = require('playwright-core');
const { openWorkerLens } = require(path.join(__dirname, '..', '..', 'test', 'e2e', 'checks', 'lib'));

(async () => {
  const [url, shot] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(url);
    await page.locator('.monaco-workbench').waitFor({ timeout: 120000 });
    await openWorkerLens(page);
    await page.getByRole('treeitem', { name: /^ForkPoolWorker-\d+, pid \d+, agent running/ }).first().waitFor({ timeout: 90000 });
    if (shot) await page.screenshot({ path: shot });
    console.log('[probe] the Workers view lists the demo worker with its agent');
  } finally {
    await browser.close();
  }
})().catch(e => { console.error(`[probe] ${e.message.split('\n')[0]}`); process.exit(1); });
