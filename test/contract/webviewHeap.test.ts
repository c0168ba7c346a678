// The Heap view's real page in real Chromium at sidebar widths: rows keyed and updated in place
// (a refresh does not rebuild the table), numbers right-aligned and never cut at 300 px, columns
// collapse when narrower, headers sort, keyboard moves and opens Show Retainers, the filter box posts.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { ensureBundles, launchChromium, openPanel, type PanelPageHandle } from './webviewHarness';
import type { HeapViewState, HostToHeapMessage } from '../../src/protocol/heapView';
import type { HeapRow } from '../../src/model/heapTable';

declare const document: { querySelector(s: string): unknown; querySelectorAll(s: string): ArrayLike<unknown> };

let browser: Browser;
let panel: PanelPageHandle;
before(async () => { await ensureBundles(); browser = await launchChromium(); panel = await openPanel(browser, 'heap', { width: 300, height: 700 }, 'heapView.css'); });
after(async () => { await panel?.close(); await browser?.close(); });
/** The harness is typed with the panels' messages; the Heap page has its own contract. */
const send = (m: HostToHeapMessage) => panel.send(m as never);

function row(i: number, over: Partial<HeapRow> = {}): HeapRow {
  return {
    key: `mod${i}.Type${i}`, type: `Type${i}`, module: `mod${i}`, label: `Type${i}`, count: 1000 + i * 37, size: (1000 + i * 37) * 56, sizeSampled: i % 3 === 0,
    delta: i % 5 === 0 ? 2487 : i % 7 === 0 ? -12 : 0, sizeDelta: 0, growing: i === 0,
    retained: i % 4 === 0 ? { known: true, bytes: 2_300_000 + i * 1000, count: 1000, at: Date.UTC(2026, 11, 1, 21, 40), origin: 'Show Retainers of Type0' } : { known: false, why: 'no-snapshot' },
    ...over,
  };
}

function state(rows: HeapRow[], over: Partial<HeapViewState> = {}): HeapViewState {
  return {
    hasSource: true, status: 'ForkPoolWorker-1 (pid 4242) · Δ since 21:40:12', statusTitle: 'Counts: a gc.get_objects() walk (the last refresh, with the memory breakdown, took 4 ms of the worker\'s time).', costNote: '', sort: 'delta', direction: 'desc', filter: '', paused: false, rows, total: rows.length,
    memory: { kind: 'memory', id: 'mem-root', label: 'Memory: RSS 51.7 MB', description: 'tasks.Payload objects grow by 9/s', contextValue: 'heapMemory.trim',
      children: [{ kind: 'memory', id: 'mem-next', label: 'Next: Show Retainers of Payload' }] },
    shallowHow: 'Containers (≈) are sampled.', runtime: 'python', ...over,
  };
}

const shot = (name: string) => { const d = path.join(process.cwd(), 'test-results', 'screenshots'); fs.mkdirSync(d, { recursive: true }); return path.join(d, name); };

test('300 types: every row drawn, numbers right-aligned and whole at 300 px; a refresh updates rows in place', async () => {
  await panel.waitFor('ready');
  const rows = Array.from({ length: 300 }, (_, i) => row(i));
  await send({ type: 'heap/state', state: state(rows) });
  const p = panel.page;
  await p.waitForFunction(() => document.querySelectorAll('tbody tr').length === 300);
  const layout = await p.evaluate(() => {
    const cells = (cls: string) => Array.from(document.querySelectorAll(`tbody tr td.${cls}`) as ArrayLike<HTMLElementLike>).slice(0, 40);
    type HTMLElementLike = { getBoundingClientRect(): { right: number; width: number }; scrollWidth: number; clientWidth: number; offsetParent: unknown; textContent: string };
    const right = (cls: string) => new Set(cells(cls).map(td => Math.round(td.getBoundingClientRect().right))).size;
    const cut = ['col-count', 'col-delta', 'col-size', 'col-retained'].flatMap(c => cells(c).filter(td => td.offsetParent && td.scrollWidth > td.clientWidth + 1).map(td => td.textContent));
    const visible = Array.from(document.querySelectorAll('thead th') as ArrayLike<HTMLElementLike>).filter(th => th.offsetParent).map(th => th.textContent);
    const typeWidth = cells('col-type')[0].getBoundingClientRect().width;
    return { rights: ['col-count', 'col-delta', 'col-size', 'col-retained'].map(right), cut, visible, typeWidth };
  });
  await p.screenshot({ path: shot('heap-webview-300px.png') });
  assert.deepEqual(layout.rights, [1, 1, 1, 1], 'one right edge per number column');
  assert.deepEqual(layout.cut, [], 'no figure cut off');
  assert.deepEqual(layout.visible.map(t => t.replace(/ [▲▼]$/, '')), ['Type', 'Count', 'Δ', 'Shallow', 'Retained']);
  assert.ok(layout.typeWidth >= 60, `the type column keeps room for a name (${layout.typeWidth} px)`);
  // tag a row element, refresh with new figures and a new order: the same element, updated
  await p.evaluate(() => { (document.querySelector('tr[data-key="mod5.Type5"]') as { dataset: Record<string, string> }).dataset.tag = 'kept'; });
  const next = rows.map((r, i) => (i === 5 ? { ...r, count: 99_999, delta: 99_000 } : r)).sort((a, b) => b.delta - a.delta);
  await send({ type: 'heap/state', state: state(next) });
  await p.waitForFunction(() => (document.querySelector('tbody tr') as { getAttribute(n: string): string }).getAttribute('data-key') === 'mod5.Type5');
  const first = await p.evaluate(() => { const tr = document.querySelector('tbody tr') as { dataset: Record<string, string>; querySelector(s: string): { textContent: string } }; return { tag: tr.dataset.tag, count: tr.querySelector('td.col-count').textContent, n: document.querySelectorAll('tbody tr').length }; });
  assert.deepEqual(first, { tag: 'kept', count: '99,999', n: 300 });
  // sampled sizes say ≈, unknown retained says —, and the row names every figure for a screen reader
  const label = await p.locator('tr[data-key="mod3.Type3"]').getAttribute('aria-label');
  assert.match(label ?? '', /^Type3: 1,111 instances, change ±0, shallow ≈\d[\d.]* KB, retained unknown$/);
  assert.match(await p.locator('tr[data-key="mod3.Type3"] td.col-retained').getAttribute('title') ?? '', /take a snapshot/);
});

test('narrower than 280 px Count folds away, then Retained; wider again they return', async () => {
  const p = panel.page;
  const visible = () => p.evaluate(() => Array.from(document.querySelectorAll('thead th') as ArrayLike<{ offsetParent: unknown; textContent: string }>).filter(th => th.offsetParent).map(th => th.textContent.replace(/ [▲▼]$/, '')));
  await p.setViewportSize({ width: 260, height: 700 });
  assert.deepEqual(await visible(), ['Type', 'Δ', 'Shallow', 'Retained']);
  await p.setViewportSize({ width: 210, height: 700 });
  assert.deepEqual(await visible(), ['Type', 'Δ', 'Shallow']);
  await p.setViewportSize({ width: 300, height: 700 });
  assert.equal((await visible()).length, 5);
});

test('headers sort (again: the other way); keyboard moves and opens Show Retainers; the filter box and Trim post', async () => {
  const p = panel.page;
  await p.locator('thead button[data-sort="size"]').click();
  assert.deepEqual(await panel.waitFor('heap/sort' as never), { type: 'heap/sort', sort: 'size', direction: 'desc' });
  await send({ type: 'heap/state', state: state([row(1), row(2)], { sort: 'size', direction: 'desc' }) });
  await p.locator('thead th[aria-sort="descending"] button[data-sort="size"]').waitFor();
  await p.locator('thead button[data-sort="size"]').click();
  assert.deepEqual(await panel.waitFor('heap/sort' as never, 2), { type: 'heap/sort', sort: 'size', direction: 'asc' });
  await p.locator('tr[data-key="mod1.Type1"]').focus();
  await p.keyboard.press('ArrowDown');
  assert.equal(await p.evaluate(() => (document as unknown as { activeElement: { getAttribute(n: string): string } }).activeElement.getAttribute('data-key')), 'mod2.Type2');
  await p.keyboard.press('Enter');
  assert.deepEqual(await panel.waitFor('heap/showRetainers' as never), { type: 'heap/showRetainers', key: 'mod2.Type2' });
  assert.match(await p.locator('tr[data-key="mod2.Type2"]').getAttribute('data-vscode-context') ?? '', /"webviewSection":"heapType".*"type":"Type2"/);
  await p.locator('input.filter').fill('tasks.Pay');
  assert.deepEqual(await panel.waitFor('heap/filter' as never), { type: 'heap/filter', text: 'tasks.Pay' });
  await p.getByRole('button', { name: 'Trim Memory Now (malloc_trim)' }).click();
  assert.deepEqual(await panel.waitFor('heap/command' as never), { type: 'heap/command', command: 'trim' });
  await send({ type: 'heap/state', state: state([], { total: 12, filter: 'zzz' }) });
  await p.getByText('No type matches “zzz”.').waitFor();
  assert.deepEqual(panel.problems, []);
});
