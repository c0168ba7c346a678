// The Memory timeline's real page in real Chromium: state -> lines per worker and metric, task
// markers, baseline; appends update in place; hover and keyboard read values out; bad data -> error.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { ensureBundles, launchChromium, openPanel, type PanelPageHandle } from './webviewHarness';
import type { TimelineState } from '../../src/protocol/webview';

// Page-side predicates run in Chromium (functions, not strings: the page's CSP forbids eval);
// the Node tsconfig has no DOM types, so declare the little they use.
declare const document: { querySelector(s: string): { getAttribute(n: string): string | null } | null; querySelectorAll(s: string): { length: number } };

let browser: Browser;
let panel: PanelPageHandle;
before(async () => { await ensureBundles(); browser = await launchChromium(); panel = await openPanel(browser, 'timeline', { width: 1000, height: 500 }); });
after(async () => { await panel?.close(); await browser?.close(); });

const T0 = Date.UTC(2026, 10, 23, 21, 0, 0);
const MB = 1024 * 1024;

/** Two prefork children: A leaks 2 MB per leak task, B stays flat; a sample every 2 s. */
function state(n = 30): TimelineState {
  const samples = [];
  for (let i = 0; i < n; i++) {
    samples.push({ workerId: '101', t: T0 + i * 2000, rss: (60 + 2 * i) * MB, heapUsed: (20 + 2 * i) * MB });
    samples.push({ workerId: '102', t: T0 + i * 2000, rss: 58 * MB, heapUsed: 19 * MB });
  }
  const markers = Array.from({ length: 10 }, (_, i) => ({ workerId: '101', t: T0 + i * 6000 + 500, endT: T0 + i * 6000 + 900, name: 'tasks.leak' }));
  markers.push({ workerId: '102', t: T0 + 3000, endT: T0 + 3100, name: 'tasks.count_order' });
  return { workers: [{ id: '101', label: 'ForkPoolWorker-1 (101)' }, { id: '102', label: 'ForkPoolWorker-2 (102)' }], samples, markers, baseline: { t: T0 + 2000 } };
}

/** Screenshots of what a person sees, for a look (test-results/screenshots/). */
function shotPath(name: string): string {
  const dir = path.join(process.cwd(), 'test-results', 'screenshots');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

/** Each test gets a fresh load of the one page of this file (empty state, empty message log). */
async function withPanel(fn: (p: PanelPageHandle) => Promise<void>): Promise<void> {
  await panel.reset();
  await fn(panel);
  assert.deepEqual(panel.problems, [], 'no CSP violation, page error or console error');
}

/** y of the first and last point of a d3 line path (SVG y grows downwards). */
function endsY(d: string): [number, number] {
  const pts = [...d.matchAll(/[ML]([-\d.e]+),([-\d.e]+)/g)].map(m => Number(m[2]));
  return [pts[0], pts[pts.length - 1]];
}

test('state: a line per worker and metric, the leaking one rises; task markers; baseline', () => withPanel(async p => {
  assert.deepEqual(await p.waitFor('ready'), { type: 'ready', panel: 'timeline', protocolVersion: 1 });
  await p.send({ type: 'timeline/state', state: state() });
  const page = p.page;
  const rss = page.locator('svg path.series[data-worker="101"][data-metric="rss"]');
  await rss.waitFor({ state: 'attached' });
  assert.equal(await page.locator('svg path.series').count(), 4);
  assert.equal(await rss.getAttribute('data-count'), '30');
  assert.equal(Number(await rss.getAttribute('data-last')), 118 * MB);
  const [first, last] = endsY((await rss.getAttribute('d'))!);
  assert.ok(last < first - 80, `the leaking worker's RSS line rises: y ${first} -> ${last}`);
  await page.screenshot({ path: shotPath('timeline-lanes.png') });
  const [f2, l2] = endsY((await page.locator('svg path.series[data-worker="102"][data-metric="rss"]').getAttribute('d'))!);
  assert.equal(f2, l2, 'the other worker stays flat');
  assert.equal(await page.locator('svg g.marker[data-name="tasks.leak"]').count(), 10);
  assert.equal(await page.locator('svg g.marker[data-name="tasks.count_order"][data-worker="102"]').count(), 1);
  assert.equal(await page.locator('svg g.marker[data-name="tasks.leak"] text.marker-label').first().textContent(), 'tasks.leak');
  assert.equal(Number(await page.locator('svg g.baseline').getAttribute('data-t')), T0 + 2000);
  assert.match((await page.locator('#summary').textContent())!, /2 workers · 60 samples · 11 task markers/);
  assert.equal(await page.locator('#legend button[data-worker="101"]').textContent(), 'ForkPoolWorker-1 (101)');
}));

test('appends update the same elements and add only new markers', () => withPanel(async p => {
  await p.waitFor('ready');
  await p.send({ type: 'timeline/state', state: state() });
  const page = p.page;
  const rss = page.locator('svg path.series[data-worker="101"][data-metric="rss"]');
  await rss.waitFor({ state: 'attached' });
  const RSS = `document.querySelector('path.series[data-worker="101"][data-metric="rss"]')`;
  await page.evaluate(`${RSS}.__tagged = 1; document.querySelector('g.marker').__tagged = 1;`);
  const before = await rss.getAttribute('d');
  const other = page.locator('svg path.series[data-worker="102"][data-metric="rss"]');
  const otherBefore = await other.getAttribute('d');
  const axisBefore = await page.locator('g.axis-x').innerHTML();
  await p.send({ type: 'timeline/append', samples: [{ workerId: '101', t: T0 + 60_000, rss: 130 * MB, heapUsed: 80 * MB }], markers: [{ workerId: '101', t: T0 + 59_000, name: 'tasks.leak' }] });
  await page.waitForFunction(() => document.querySelector('path.series[data-worker="101"][data-metric="rss"]')?.getAttribute('data-count') === '31');
  assert.notEqual(await rss.getAttribute('d'), before);
  // the time axis had headroom for this sample: the other worker's line and the axis were not redrawn
  assert.equal(await other.getAttribute('d'), otherBefore);
  assert.equal(await page.locator('g.axis-x').innerHTML(), axisBefore);
  assert.equal(await page.evaluate(`${RSS}.__tagged`), 1, 'the path element was updated, not replaced');
  assert.equal(await page.evaluate(`document.querySelector('g.marker').__tagged`), 1, 'old markers kept');
  assert.equal(await page.locator('svg g.marker[data-name="tasks.leak"]').count(), 11);
  // a new worker appears with its own line and legend entry
  await p.send({ type: 'timeline/append', workers: [{ id: '103', label: 'ForkPoolWorker-3 (103)' }], samples: [{ workerId: '103', t: T0 + 60_000, rss: 50 * MB }] });
  await page.locator('svg path.series[data-worker="103"][data-metric="rss"]').waitFor({ state: 'attached' });
  assert.equal(await page.locator('#legend button[data-worker="103"]').count(), 1);
  await p.send({ type: 'timeline/baseline', baseline: null });
  await page.waitForFunction(() => document.querySelectorAll('g.baseline').length === 0);
}));

test('hover and keyboard show values, with the change since the baseline', () => withPanel(async p => {
  await p.waitFor('ready');
  await p.send({ type: 'timeline/state', state: state() });
  const page = p.page;
  await page.locator('svg path.series').first().waitFor({ state: 'attached' });
  const box = (await page.locator('#chart').boundingBox())!;
  await page.mouse.move(box.x + box.width - 30, box.y + box.height / 2);
  const tip = page.locator('#tooltip');
  await tip.waitFor();
  const text = (await tip.textContent())!;
  assert.match(text, /ForkPoolWorker-1 \(101\) RSS 118 MB \(\+56\.0 MB since baseline\)/);
  assert.match(text, /ForkPoolWorker-2 \(102\) RSS 58\.0 MB \(\+0 B since baseline\)/);
  await page.mouse.move(box.x + 2, box.y + 2);
  await page.locator('#chart').focus();
  await page.keyboard.press('Home');
  assert.match((await page.locator('#readout').textContent())!, /ForkPoolWorker-1 \(101\) RSS 60\.0 MB/);
  await page.keyboard.press('ArrowRight');
  assert.match((await page.locator('#readout').textContent())!, /RSS 62\.0 MB/);
  await page.keyboard.press('Escape');
  assert.equal(await tip.isHidden(), true);
}));

test('legend toggles hide a worker or a measure, and survive a reload', () => withPanel(async p => {
  await p.waitFor('ready');
  await p.send({ type: 'timeline/state', state: state() });
  const page = p.page;
  await page.locator('#legend button[data-worker="102"]').click();
  await page.locator('#legend button[data-metric="heapUsed"]').click();
  await page.waitForFunction(() => document.querySelector('path.series[data-worker="102"][data-metric="rss"]')?.getAttribute('display') === 'none');
  assert.equal(await page.locator('svg path.series[data-worker="101"][data-metric="heapUsed"]').getAttribute('display'), 'none');
  assert.equal(await page.locator('svg path.series[data-worker="101"][data-metric="rss"]').getAttribute('display'), null);
  assert.equal(await page.locator('#legend button[data-worker="102"]').getAttribute('aria-pressed'), 'false');
  await page.reload();
  await p.waitFor('ready'); // the fake host's message log restarts with the page
  await p.send({ type: 'timeline/state', state: state() });
  await page.locator('svg path.series').first().waitFor({ state: 'attached' });
  await page.waitForFunction(() => document.querySelector('path.series[data-worker="102"][data-metric="rss"]')?.getAttribute('display') === 'none');
}));

test('a 0.4 MB rise on a 48 MB worker fills its lane; dense task runs become a density strip', () => withPanel(async p => {
  await p.waitFor('ready');
  const samples = [], markers = [];
  for (let i = 0; i < 120; i++) samples.push({ workerId: '7', t: T0 + i * 2000, rss: 48.1 * MB + (0.4 * MB * i) / 119, heapUsed: 6 * MB + (i % 2) * 1024 });
  for (let i = 0; i < 2400; i++) markers.push({ workerId: '7', t: T0 + i * 100, endT: T0 + i * 100 + 3, name: i % 3 ? 'tasks.leak' : 'tasks.count_order' });
  await p.send({ type: 'timeline/state', state: { workers: [{ id: '7', label: 'ForkPoolWorker-1 (7)' }], samples, markers } });
  const page = p.page;
  const rss = page.locator('svg path.series[data-worker="7"][data-metric="rss"]');
  await rss.waitFor({ state: 'attached' });
  const lane = page.locator('svg g.lane[data-metric="rss"]');
  const laneH = (await lane.locator('rect, g.axis-y').first().boundingBox())!.height;
  const [first, last] = endsY((await rss.getAttribute('d'))!);
  assert.ok(first - last > laneH * 0.4, `a visible rise: y ${first} -> ${last} in a ${laneH}px lane`);
  assert.ok(Number(await lane.getAttribute('data-y0')) > 40 * MB, 'the RSS axis does not start at 0');
  assert.match((await lane.locator('text.lane-title').textContent())!, /^RSS · 4\d(\.\d+)?–4\d(\.\d+)? MB \(axis not from 0\)$/);
  assert.equal(await page.locator('svg').first().getAttribute('data-markers'), 'dense');
  const cols = await page.locator('svg g.marker.dense').count();
  assert.ok(cols > 50 && cols < 400, `${cols} density columns for 2,400 runs`);
  assert.equal(await page.locator('svg g.marker text.marker-label:not(:empty)').count(), 0, 'no wall of labels');
  assert.ok(await page.locator('svg g.marker.dense[data-names~="tasks.leak"]').count() > 0);
  assert.match((await page.locator('svg text.strip-label').textContent())!, /^2,400 runs$/);
  await page.screenshot({ path: shotPath('timeline-dense.png') });
}));

test('bad data: a one-line error, nothing thrown', () => withPanel(async p => {
  await p.waitFor('ready');
  await p.send({ type: 'timeline/append', samples: [{ workerId: '1', t: Number.NaN }] } as never);
  const err = await p.waitFor('error');
  assert.equal(err.message, 'Cannot draw the memory timeline: timeline sample lacks workerId or t (epoch ms).');
  assert.match((await p.page.locator('[role="alert"]').textContent())!, /timeline sample lacks/);
}));

test('the memory breakdown\'s measures get their own lanes once a worker reports them', () => withPanel(async p => {
  await p.waitFor('ready');
  await p.send({ type: 'timeline/state', state: state() });
  const page = p.page;
  await page.locator('svg path.series[data-metric="rss"]').first().waitFor({ state: 'attached' });
  assert.equal(await page.locator('#legend button[data-metric="native"]').count(), 0, 'no lane for a measure nobody reports');
  const samples = Array.from({ length: 10 }, (_, i) => ({ workerId: '101', t: T0 + 70_000 + i * 2000, rss: 130 * MB, heapUsed: 80 * MB, native: (20 + 5 * i) * MB, mallocFree: 3 * MB }));
  await p.send({ type: 'timeline/append', samples });
  const native = page.locator('svg path.series[data-worker="101"][data-metric="native"]');
  await native.waitFor({ state: 'attached' });
  assert.equal(await native.getAttribute('data-count'), '10');
  assert.equal(await page.locator('#legend button[data-metric="mallocFree"]').textContent(), 'Free held by malloc');
  assert.match((await page.locator('g.lane[data-metric="native"] text.lane-title').textContent())!, /^Native \(no object explains\) · /);
}));
