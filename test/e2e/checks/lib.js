// Helpers shared by the UI checks (not a check itself: exports no `run`).
'use strict';
const fs = require('fs');

/** Children of a pid, from /proc. */
function childrenOf(pid) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = +stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
      if (ppid === pid) out.push(+d);
    } catch { /* exited */ }
  }
  return out.sort((a, b) => a - b);
}

async function until(what, fn, timeoutMs = 30000, everyMs = 250) {
  const t0 = Date.now();
  let last;
  for (;;) {
    try { const v = await fn(); if (v) return v; } catch (e) { last = e; }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs / 1000}s: ${what}${last ? ` (${last.message})` : ''}`);
    await new Promise(r => setTimeout(r, everyMs));
  }
}

/** Focuses the Worker Lens container. */
async function openWorkerLens(page) {
  const icon = page.locator('.part.activitybar').getByRole('tab', { name: 'Worker Lens' });
  await icon.waitFor({ timeout: 60000 });
  if ((await icon.getAttribute('aria-selected')) !== 'true') await icon.click();
}

/** Runs a palette command by its title. */
async function runCommand(page, title) {
  await page.locator('.part.sidebar .title-label').first().click();
  await page.keyboard.press('F1');
  const qi = page.locator('.quick-input-widget');
  await qi.waitFor({ state: 'visible' });
  await qi.locator('input').fill('>' + title);
  await qi.locator('.monaco-list-row', { hasText: title }).first().click();
}

/** Clicks a row's inline action (hover first: inline actions show on hover). */
async function clickInline(page, row, actionLabel) {
  await row.hover();
  await row.locator(`.action-label[aria-label="${actionLabel}"]`).click();
}

// Webview pages are told apart by what they draw (<body data-panel="heap|retainers|timeline">), not by
// the iframe's src: VS Code drops `purpose=webviewView` from it when a folded view is expanded again,
// and the workbench's own webviews can be visible and later in the DOM (CI 2026-12-02: `.last()` of
// `[src*=purpose=webviewView]` then matched nothing, and every later Heap check failed).
const OUR_IFRAMES = 'iframe.webview.ready[src*="extensionId=workerlens.workerlens"]';
const CHAIN = new Set(['locator', 'getByRole', 'getByText', 'getByLabel', 'getByTitle', 'first', 'last', 'nth', 'filter', 'frameLocator']);

/** The inner frame of our visible webview whose page is `panel`, found when an action runs (last one wins). */
async function findWebview(page, panel, timeout = 30000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const n = await page.locator(OUR_IFRAMES).count();
    let found = null;
    for (let i = 0; i < n; i++) {
      const outer = page.locator(OUR_IFRAMES).nth(i);
      if (!(await outer.isVisible().catch(() => false))) continue;
      const inner = page.frameLocator(OUR_IFRAMES).nth(i).frameLocator('#active-frame');
      if (await inner.locator(`body[data-panel="${panel}"]`).count().catch(() => 0)) found = inner;
    }
    if (found || Date.now() > deadline) return found || page.frameLocator(OUR_IFRAMES).last().frameLocator('#active-frame');
    await new Promise(r => setTimeout(r, 250));
  }
}

/** A stand-in for a FrameLocator of webview `panel`: chains (locator, getByRole, first, …) are recorded
 * and replayed on the right frame when an action (waitFor, click, count, …) is awaited. */
function webviewFrame(page, panel, steps = []) {
  return new Proxy({}, {
    get(_t, prop) {
      if (prop === 'then' || typeof prop === 'symbol') return undefined;
      return (...args) => {
        if (CHAIN.has(prop)) return webviewFrame(page, panel, [...steps, [prop, args]]);
        return (async () => {
          let target = await findWebview(page, panel);
          for (const [m, a] of steps) target = target[m](...a);
          return target[prop](...args);
        })();
      };
    },
  });
}

function heapFrame(page) {
  return webviewFrame(page, 'heap');
}

/** The header of the Worker Lens view titled `title` (exactly). */
function viewHeader(page, title) {
  return page.locator('.pane-header', { has: page.locator('h3.title', { hasText: new RegExp(`^${title}$`) }) }).first();
}

/**
 * Folds or unfolds views by their titles (a click on the header itself can land on one of its actions)
 * and waits until each is as asked: setViews(page, { Threads: true, Workers: false }). Returns a function
 * that puts back the ones it changed.
 */
async function setViews(page, want) {
  const changed = [];
  for (const [title, open] of Object.entries(want)) {
    const h = viewHeader(page, title);
    await until(`${title} ${open ? 'expanded' : 'collapsed'}`, async () => {
      const isOpen = (await h.getAttribute('aria-expanded', { timeout: 5000 })) === 'true';
      if (isOpen === open) return true;
      await h.locator('h3.title').click({ timeout: 5000 });
      if (!changed.includes(title)) changed.push(title);
      return ((await h.getAttribute('aria-expanded', { timeout: 5000 })) === 'true') === open;
    }, 10000, 500);
  }
  return async () => {  // once: a second call does nothing
    const back = {};
    for (const t of changed.splice(0).reverse()) back[t] = !want[t];
    await setViews(page, back).catch(() => { });
  };
}

/** Drags the sidebar's own sash (the vertical one at its right edge) to x = `toX`. */
async function widenSidebar(page, toX) {
  const right = await page.locator('.part.sidebar').evaluate(e => e.getBoundingClientRect().right);
  const sashes = page.locator('.monaco-sash.vertical');
  for (let i = 0, n = await sashes.count(); i < n; i++) {
    const box = await sashes.nth(i).boundingBox().catch(() => null);
    if (!box || box.height < 200 || Math.abs(box.x + box.width / 2 - right) > 6) continue;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(toX, box.y + box.height / 2, { steps: 8 });
    await page.mouse.up();
    return page.locator('.part.sidebar').evaluate(e => Math.round(e.getBoundingClientRect().width));
  }
  throw new Error(`no sash at the sidebar's right edge (x ${Math.round(right)})`);
}

/** Whether our webview `panel` is on screen now (no waiting). */
async function hasWebview(page, panel) {
  const n = await page.locator(OUR_IFRAMES).count();
  for (let i = 0; i < n; i++) {
    if (!(await page.locator(OUR_IFRAMES).nth(i).isVisible().catch(() => false))) continue;
    if (await page.frameLocator(OUR_IFRAMES).nth(i).frameLocator('#active-frame').locator(`body[data-panel="${panel}"]`).count().catch(() => 0)) return true;
  }
  return false;
}

/** What webview iframes the page has (for a failure message): extension, purpose, visible. */
async function webviewIframes(page) {
  return page.locator('iframe.webview').evaluateAll(els => els.map(e => {
    const q = new URL(e.src, location.href).searchParams;
    const r = e.getBoundingClientRect();
    return `${q.get('extensionId') || '?'}/${q.get('purpose') || '?'}${r.width && r.height ? '' : ' (hidden)'}`;
  })).catch(e => [`(${String(e.message).split('\n')[0]})`]);
}

/** The page of a webview panel: 'retainers' or 'timeline'. */
function panelFrame(page, panel = 'retainers') {
  return webviewFrame(page, panel);
}

/** Waits until the Heap view shows `pid`'s counts (its status line names the pid and the baseline). */
async function heapShows(page, pid, host) {
  // polls the text of every status line (not waitFor(visible) on the first match: after the view was
  // folded or another attach, the first match was not the one on screen though the right text showed)
  const want = new RegExp(`\\(pid ${pid}\\)${host ? ` on ${host}` : ''} · Δ since`);  // host: a remote (Fleet) session
  let seen = [];
  try {
    await until(`the Heap view showing pid ${pid}`, async () => {
      seen = await heapFrame(page).locator('.status-line').allTextContents().catch(e => [`(no frame: ${String(e.message).split('\n')[0]})`]);
      return seen.some(t => want.test(t.replace(/\u00a0/g, ' '))) || null;
    }, 60000, 500);
  } catch (e) {
    throw new Error(`${e.message}; status lines seen: ${JSON.stringify(seen)}; webview iframes: ${(await webviewIframes(page)).join(', ')}`);
  }
}

/** The Heap table's row of `type` (its accessible name starts with the shown type name). */
function heapRowLocator(page, type) {
  return heapFrame(page).getByRole('row', { name: new RegExp(`^${type}: `) }).first();
}

/** Reads "Payload: 1,234 instances, change +56, …" from the Heap view. */
async function heapRow(page, type) {
  const item = heapRowLocator(page, type);
  const name = await item.getAttribute('aria-label', { timeout: 2000 });
  const m = /: ([\d,]+) instances, change ([+−±][\d,]*)/.exec(name || '');
  if (!m) return null;
  const num = s => +s.replace(/[^\d]/g, '') || 0;
  return { count: num(m[1]), delta: m[2].startsWith('−') ? -num(m[2]) : num(m[2]), growing: /growing$/.test(name) };
}

/** A notification with `text`: as a toast, or else in the notification center (toasts can be hidden). */
async function notification(page, text, timeout = 30000) {
  const msg = page.locator('.notification-list-item', { hasText: text }).first();
  const t0 = Date.now();
  while (Date.now() - t0 < timeout) {
    if (await msg.isVisible()) return msg;
    const center = page.locator('.notifications-center');
    if (!(await center.isVisible()) && Date.now() - t0 > 3000) await page.locator('#status\\.notifications').click().catch(() => { });
    await new Promise(r => setTimeout(r, 500));
  }
  throw new Error(`no notification with "${text}" within ${timeout / 1000}s`);
}

/**
 * The pool child (pid from `kids`, in pid order) that the worker's log shows running the most
 * `tasks.leak`: prefork hands short tasks to whichever child is idle first, so one child can go
 * without them for a long time.
 */
async function busiestChild(logFile, kids) {
  const index = await until('leak tasks in the worker log', () => {
    const runs = kids.map(() => 0);
    for (const m of fs.readFileSync(logFile, 'utf8').matchAll(/ForkPoolWorker-(\d+)\] Task tasks\.leak\[/g)) runs[(+m[1] - 1) % kids.length]++;
    const total = runs.reduce((a, b) => a + b, 0);
    return total >= 6 && runs.indexOf(Math.max(...runs)) + 1;
  }, 60000);
  return kids[index - 1];
}

/**
 * Issue 13: the rows of a view at the default sidebar width. Screenshots the sidebar as
 * `sidebar-<name>` and returns the rows whose label (the name before the grey description) is cut;
 * descriptions may be cut (their detail is in the tooltip), labels must not.
 */
async function labelsAtSidebarWidth(page, ctx, viewTitle, name) {
  const pane = page.locator('.pane', { has: page.locator('.pane-header h3.title', { hasText: new RegExp(`^${viewTitle}$`) }) }).first();
  const rows = await pane.locator('.monaco-list-row').evaluateAll(els => els.map(r => {
    const row = r.getBoundingClientRect();
    const name = r.querySelector('.label-name');
    const desc = r.querySelector('.label-description');
    const box = name ? name.getBoundingClientRect() : row;
    return {
      text: (r.textContent || '').trim(),
      labelCut: !!name && (name.scrollWidth > name.clientWidth + 1 || box.right > row.right + 1),
      descriptionCut: !!desc && (desc.scrollWidth > desc.clientWidth + 1 || desc.getBoundingClientRect().right > row.right + 1),
    };
  }));
  const width = await page.locator('.part.sidebar').evaluate(e => Math.round(e.getBoundingClientRect().width));
  await page.locator('.part.sidebar').screenshot({ path: require('path').join(ctx.shotsDir, `sidebar-${name}.png`) });
  ctx.log(`    ${viewTitle} at ${width} px: ${rows.length} rows, ${rows.filter(r => r.labelCut).length} labels cut, ${rows.filter(r => r.descriptionCut).length} descriptions cut`);
  return { width, rows, cut: rows.filter(r => r.labelCut) };
}

module.exports = { labelsAtSidebarWidth, widenSidebar, viewHeader, setViews, heapFrame, panelFrame, hasWebview, heapRowLocator, heapShows, busiestChild, childrenOf, until, openWorkerLens, runCommand, clickInline, heapRow, notification };
