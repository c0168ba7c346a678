// The Retainers panel's real page in real Chromium: handshake, SVG drawn from a graph, clicks and
// keys -> messages, collapse/expand, 5,000 nodes folded, bad data -> one-line error, state re-send.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { ensureBundles, launchChromium, openPanel, type PanelPageHandle } from './webviewHarness';
import { leakyGraph, syntheticGraph } from '../unit/webview/graphFixtures';
import { WEBVIEW_PROTOCOL_VERSION } from '../../src/protocol/webview';

// Page-side predicates are functions, not strings (the page's CSP forbids eval); the Node tsconfig has no DOM types.
declare const document: { querySelector(s: string): { getAttribute(n: string): string | null } | null };

let browser: Browser;
let panel: PanelPageHandle;
before(async () => { fs.mkdirSync(path.join(process.cwd(), 'test-results', 'screenshots'), { recursive: true }); await ensureBundles(); browser = await launchChromium(); panel = await openPanel(browser, 'retainers'); });
after(async () => { await panel?.close(); await browser?.close(); });

/** Each test gets a fresh load of the one page of this file (empty state, empty message log). */
async function withPanel(fn: (p: PanelPageHandle) => Promise<void>): Promise<void> {
  await panel.reset();
  await fn(panel);
  assert.deepEqual(panel.problems, [], 'no CSP violation, page error or console error');
}

const activeId = (p: PanelPageHandle) => p.page.evaluate('document.activeElement && document.activeElement.getAttribute("data-id")') as Promise<string | null>;

test('handshake, then the graph: nodes, labelled edges, root styling, path counts', () => withPanel(async p => {
  const ready = await p.waitFor('ready');
  assert.deepEqual(ready, { type: 'ready', panel: 'retainers', protocolVersion: WEBVIEW_PROTOCOL_VERSION });
  await p.send({ type: 'retainers/graph', graph: leakyGraph() });
  const page = p.page;
  await page.locator('svg g.node').first().waitFor();
  assert.equal(await page.locator('svg g.node').count(), 10);
  assert.equal(await page.locator('svg g.node[data-type="Payload"]').count(), 4);
  assert.equal(await page.locator('svg g.node.root').count(), 3);
  const root = page.locator('svg g.node.root[data-label="leaky_storage"]');
  assert.equal(await root.getAttribute('data-root-kind'), 'global');
  assert.match((await root.getAttribute('aria-label'))!, /global root list leaky_storage/);
  // root -> Payload by an edge labelled [17]
  const edge = page.locator('svg g.edge[data-from="1"][data-label="[17]"]');
  assert.equal(await edge.locator('text.edge-label').textContent(), '[17]');
  assert.equal(await page.locator(`svg g.node[data-id="${await edge.getAttribute('data-to')}"]`).getAttribute('data-type'), 'Payload');
  assert.equal(await page.locator('svg g.edge[data-label="_sessions"]').count(), 1);
  assert.equal(await page.locator(`svg g.edge[data-label="['user-9']"] text`).textContent(), "['user-9']");
  // roots are drawn left of what they retain
  const x = async (id: string) => Number((/translate\(([-\d.]+)/.exec((await page.locator(`svg g.node[data-id="${id}"]`).getAttribute('transform'))!) ?? [])[1]);
  assert.ok(await x('1') < await x('3'));
  // path counts: on the target and in the list
  assert.equal(await page.locator('svg g.node[data-id="3"] text.count').textContent(), '×800');
  assert.match((await page.locator('#paths li[data-path-id="p1"]').textContent())!, /tasks\.leaky_storage\[17\].*800 instances share this path/);
  assert.match((await page.locator('#summary').textContent())!, /814 instances · 4 paths/);
  // root styling comes from the theme variables (stroke differs from a plain node's)
  const stroke = (sel: string) => page.evaluate(`getComputedStyle(document.querySelector('${sel}')).stroke`) as Promise<string>;
  assert.notEqual(await stroke('g.node.root .box'), await stroke('g.node[data-id="17"] .box'));
}));

test('click: details with dominator, open-source for nodes with a source; Save snapshot button', () => withPanel(async p => {
  await p.waitFor('ready');
  await p.send({ type: 'retainers/graph', graph: leakyGraph('/tmp/app/tasks.py') });
  const page = p.page;
  await page.locator('svg g.node.root[data-label="leaky_storage"]').click();
  const open = await p.waitFor('retainers/openSource');
  assert.deepEqual(open, { type: 'retainers/openSource', nodeId: '1', location: { file: '/tmp/app/tasks.py', line: 36 } });
  assert.deepEqual(await p.waitFor('retainers/nodeSelected'), { type: 'retainers/nodeSelected', nodeId: '1' });
  assert.match((await page.locator('#node-details').textContent())!, /Retained size.*2\.3 MB/);
  // a Payload has no source: selecting it posts no open-source; its dominator is a link
  await page.locator('svg g.node[data-id="3"]').click();
  await p.waitFor('retainers/nodeSelected', 2);
  assert.equal((await p.posted()).filter(m => m.type === 'retainers/openSource').length, 1);
  assert.equal(await page.locator('svg g.node.selected').getAttribute('data-id'), '3');
  await page.locator('#dominator').click();
  assert.equal(await page.locator('svg g.node.selected').getAttribute('data-id'), '1');
  await page.locator('#save-snapshot').click();
  await p.waitFor('retainers/saveSnapshot');
}));

test('keyboard: one tab stop, arrows move along edges and layers, Enter selects and opens source, minus collapses', () => withPanel(async p => {
  await p.waitFor('ready');
  await p.send({ type: 'retainers/graph', graph: leakyGraph() });
  const page = p.page;
  await page.locator('svg g.node').first().waitFor();
  assert.equal(await page.locator('svg g.node[tabindex="0"]').count(), 1);
  await page.locator('#save-snapshot').focus();
  await page.keyboard.press('Tab');
  const first = await activeId(p);
  assert.ok(first && (await page.locator(`svg g.node[data-id="${first}"]`).getAttribute('class'))!.includes('root'), `Tab lands on a root, got ${first}`);
  // walk to the sessions module root with Up/Down, then Right along manager -> _sessions -> ['user-9']
  for (let i = 0; i < 3 && await activeId(p) !== '13'; i++) await page.keyboard.press('ArrowDown');
  if (await activeId(p) !== '13') for (let i = 0; i < 3 && await activeId(p) !== '13'; i++) await page.keyboard.press('ArrowUp');
  assert.equal(await activeId(p), '13');
  await page.keyboard.press('ArrowRight');
  assert.equal(await activeId(p), '15');
  await page.keyboard.press('Enter');
  assert.deepEqual((await p.waitFor('retainers/openSource')).location, { file: '/srv/app/sessions.py', line: 12 });
  await page.keyboard.press('ArrowLeft');
  assert.equal(await activeId(p), '13');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Minus');
  assert.deepEqual(await p.waitFor('retainers/toggle'), { type: 'retainers/toggle', id: '15', expanded: false });
  assert.equal(await page.locator('svg g.node[data-id="19"]').count(), 0);
  assert.equal(await page.locator('svg g.node[data-id="15"] text.count').textContent(), '+1 hidden');
  assert.equal(await activeId(p), '15', 'focus stays on the collapsed node');
  await page.keyboard.press('Equal');
  await p.waitFor('retainers/toggle', 2);
  assert.equal(await page.locator('svg g.node[data-id="19"]').count(), 1);
  assert.equal(await page.locator('svg g.node[tabindex="0"]').count(), 1);
}));

test('2,000 nodes: folded into "+N more" groups, expanding a group draws more', () => withPanel(async p => {
  await p.waitFor('ready');
  // 2,000 is enough to overflow the node budget; the 5,000 case is in bench/ (sending it costs seconds here).
  await p.send({ type: 'retainers/graph', graph: syntheticGraph(2000) });
  const page = p.page;
  await page.locator('svg g.node').first().waitFor();
  const drawn = await page.locator('svg g.node:not(.more)').count();
  assert.ok(drawn > 50 && drawn <= 250, `${drawn} nodes drawn`);
  const more = page.locator('svg g.node.more[data-id="more:paths"]');
  assert.match((await more.locator('text.type').textContent())!, /^\+[\d,]+ more paths$/);
  assert.match((await page.locator('#summary').textContent())!, /showing [\d,]+ of 2,000 nodes/);
  await more.focus(); // a keyboard focus pans the node into view, then the mouse can reach it
  await more.click();
  assert.deepEqual(await p.waitFor('retainers/toggle'), { type: 'retainers/toggle', id: 'more:paths', expanded: true });
  const after = await page.locator('svg g.node:not(.more)').count();
  assert.ok(after > drawn, `${after} > ${drawn} after expanding`);
  // the host selects a node that is folded away: the panel unfolds what hides it
  const g = syntheticGraph(2000);
  const smallest = [...g.paths].sort((a, b) => a.instanceCount - b.instanceCount)[0];
  const deep = smallest.nodeIds[smallest.nodeIds.length - 1];
  assert.equal(await page.locator(`svg g.node[data-id="${deep}"]`).count(), 0);
  await p.send({ type: 'retainers/select', nodeId: deep });
  assert.equal(await page.locator('svg g.node.selected').getAttribute('data-id'), deep);
  // the toolbar offers the same without finding the group in the graph
  const before = await page.locator('svg g.node:not(.more)').count();
  await page.locator('#show-more-paths').click();
  await p.waitFor('retainers/toggle', 2);
  assert.ok(await page.locator('svg g.node:not(.more)').count() > before);
}));

test('zoom and pan: the wheel scales the viewport, a drag moves it, Fit brings the graph back', () => withPanel(async p => {
  await p.waitFor('ready');
  await p.send({ type: 'retainers/graph', graph: leakyGraph() });
  const page = p.page;
  await page.locator('svg g.node').first().waitFor();
  const transform = () => page.locator('svg g.viewport').getAttribute('transform');
  const scale = async () => Number((/scale\(([\d.]+)/.exec((await transform()) ?? '') ?? [0, 1])[1]);
  const fitted = await transform();
  const k0 = await scale();
  const box = (await page.locator('#graph').boundingBox())!;
  await page.mouse.move(box.x + 40, box.y + 40);
  await page.mouse.wheel(0, -400);
  await page.waitForFunction(`document.querySelector('svg g.viewport').getAttribute('transform') !== ${JSON.stringify(fitted)}`);
  assert.ok(await scale() > k0, 'wheel up zooms in');
  const zoomed = await transform();
  await page.mouse.move(box.x + 30, box.y + box.height - 30);
  await page.mouse.down();
  await page.mouse.move(box.x + 130, box.y + box.height - 80, { steps: 4 });
  await page.mouse.up();
  assert.notEqual(await transform(), zoomed, 'drag pans');
  await page.locator('#fit').click();
  assert.equal(await transform(), fitted);
}));

test('a narrow panel: text stays readable, details go under the graph, a resize refits', () => withPanel(async p => {
  await p.waitFor('ready');
  const page = p.page;
  await page.setViewportSize({ width: 420, height: 700 });
  const g = leakyGraph();
  // the smallest real case: a module global holding the instances directly (2 nodes)
  const ids = g.paths[0].nodeIds.slice(0, 2);
  const two = { ...g, nodes: g.nodes.filter(n => ids.includes(n.id)), edges: g.edges.filter(e => ids.includes(e.from) && ids.includes(e.to)), paths: [{ ...g.paths[0], nodeIds: ids }] };
  two.nodes[1].isTarget = true;
  await p.send({ type: 'retainers/graph', graph: two });
  await page.locator('svg g.node').first().waitFor();
  const scale = async () => Number((/scale\(([\d.]+)/.exec((await page.locator('svg g.viewport').getAttribute('transform')) ?? '') ?? [0, 1])[1]);
  assert.ok(await scale() >= 0.85, `readable scale in a 420 px panel: ${await scale()}`);
  const fontPx = await page.locator('svg g.node text.type').first().evaluate(el => el.getBoundingClientRect().height);
  assert.ok(fontPx >= 10, `node text is ${fontPx}px high`);
  const side = (await page.locator('aside.side').boundingBox())!, graph = (await page.locator('#graph').boundingBox())!;
  assert.ok(side.y >= graph.y + graph.height - 1 && side.width > 380, `details under the graph, full width: ${JSON.stringify(side)}`);
  await page.locator('svg g.node').first().click();
  await page.locator('#node-details dl').waitFor();
  const dt = (await page.locator('#node-details h2').boundingBox())!;
  assert.ok(dt.height < 40, `the details heading is not one letter per line (${dt.height}px high)`);
  const before = await page.locator('svg g.viewport').getAttribute('transform');
  await page.setViewportSize({ width: 1200, height: 800 });
  await page.waitForFunction(b => document.querySelector('svg g.viewport')?.getAttribute('transform') !== b, before);
  assert.ok(await scale() >= 1, 'refitted to the larger panel');
  await page.screenshot({ path: path.join(process.cwd(), 'test-results', 'screenshots', 'retainers-wide-after-narrow.png') });
}));

test('bad data: a one-line error in the panel and an error message to the host; good data clears it', () => withPanel(async p => {
  await p.waitFor('ready');
  const bad = leakyGraph();
  bad.paths[0].nodeIds = ['1', '19'];
  await p.send({ type: 'retainers/graph', graph: bad });
  const err = await p.waitFor('error');
  assert.match(err.message, /Cannot draw the retainers: path p1 steps 1 -> 19 without an edge/);
  assert.match((await p.page.locator('[role="alert"]').textContent())!, /path p1 steps 1 -> 19/);
  await p.send({ type: 'retainers/graph', graph: leakyGraph() });
  await p.page.locator('svg g.node').first().waitFor();
  assert.equal(await p.page.locator('[role="alert"]').isHidden(), true);
  // an empty result says why
  await p.send({ type: 'retainers/graph', graph: { targetType: 'Ghost', instanceCount: 3, nodes: [], edges: [], paths: [] } });
  assert.match((await p.page.locator('#empty').textContent())!, /No retainer path found for Ghost/);
}));

test('reload (panel hidden then shown): ready again, re-sent graph keeps collapsed nodes and selection', () => withPanel(async p => {
  await p.waitFor('ready');
  await p.send({ type: 'retainers/graph', graph: leakyGraph() });
  const page = p.page;
  await page.locator('svg g.node[data-id="15"] g.toggle').click();
  await p.waitFor('retainers/toggle');
  await page.locator('svg g.node[data-id="7"]').click();
  await page.waitForTimeout(150); // state is saved on a 100 ms debounce
  await page.reload();
  await p.waitFor('ready');
  await p.send({ type: 'retainers/graph', graph: leakyGraph() });
  await page.locator('svg g.node').first().waitFor();
  assert.equal(await page.locator('svg g.node[data-id="19"]').count(), 0, 'still collapsed');
  assert.equal(await page.locator('svg g.node.selected').getAttribute('data-id'), '7');
  await p.send({ type: 'retainers/select', nodeId: '13' });
  assert.equal(await page.locator('svg g.node.selected').getAttribute('data-id'), '13');
  await p.send({ type: 'retainers/status', text: 'Saved to /tmp/x.heapsnapshot' });
  assert.equal(await page.locator('#status').textContent(), 'Saved to /tmp/x.heapsnapshot');
}));
