// Panel render times in real Chromium (the page VS Code loads, same bundle and CSP), printed, never asserted.
//   Retainers: a RetainerGraph of 10 / 1,000 / 5,000 nodes -> drawn (script + forced layout + next frame).
//     Peer: drawing every node and edge of the same graph without folding (plain DOM, positions
//     precomputed in Node) — what the panel would cost without its node budget.
//   Timeline: one appended sample with 4 workers × 1,000 / 10,000 / 20,000 samples drawn.
//     Peer: re-sending the whole state for that one sample (what a non-incremental panel does).
// Run: node esbuild.mjs && npx tsc -p . && node out/bench/webviewPanels.bench.js   (or npm run bench)

import { ensureBundles, launchChromium, openPanel, type PanelPageHandle } from '../test/contract/webviewHarness';
import { syntheticGraph } from '../test/unit/webview/graphFixtures';
import { layoutRetainers, DEFAULT_LAYOUT } from '../src/webview/retainersLayout';
import type { TimelineState } from '../src/protocol/webview';

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const ms = (v: number) => `${v.toFixed(1)} ms`;

/** Dispatches a host message synchronously, then times script, forced style/layout, and the next frame. */
const TIME_RETAINERS = `async (data) => {
  const t0 = performance.now();
  window.dispatchEvent(new MessageEvent('message', { data }));
  const t1 = performance.now();
  document.querySelector('#graph').getBBox(); document.body.getBoundingClientRect();
  const t2 = performance.now();
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  const t3 = performance.now();
  return { script: t1 - t0, layout: t2 - t1, frame: t3 - t0, nodes: document.querySelectorAll('#graph g.node').length };
}`;

/** The peer: every node as rect + 2 texts, every edge as path + label, in a fresh <svg>. */
const DRAW_ALL = `async ({ nodes, edges }) => {
  const NS = 'http://www.w3.org/2000/svg';
  document.querySelector('#peer')?.remove();
  const t0 = performance.now();
  const svg = document.createElementNS(NS, 'svg'); svg.id = 'peer'; svg.setAttribute('width', '1200'); svg.setAttribute('height', '800');
  const g = document.createElementNS(NS, 'g'); svg.append(g);
  for (const e of edges) {
    const p = document.createElementNS(NS, 'path'); p.setAttribute('d', e.d); p.setAttribute('class', 'link'); g.append(p);
    const t = document.createElementNS(NS, 'text'); t.setAttribute('x', e.labelX); t.setAttribute('y', e.labelY); t.textContent = e.label; g.append(t);
  }
  for (const n of nodes) {
    const ng = document.createElementNS(NS, 'g'); ng.setAttribute('class', 'node'); ng.setAttribute('transform', 'translate(' + n.x + ',' + n.y + ')');
    const r = document.createElementNS(NS, 'rect'); r.setAttribute('class', 'box'); r.setAttribute('width', n.w); r.setAttribute('height', n.h); ng.append(r);
    for (const [cls, y, s] of [['type', 17, n.type], ['label', 35, n.label]]) { const t = document.createElementNS(NS, 'text'); t.setAttribute('class', cls); t.setAttribute('x', 8); t.setAttribute('y', y); t.textContent = s; ng.append(t); }
    g.append(ng);
  }
  document.querySelector('.graph-wrap').append(svg);
  const t1 = performance.now();
  svg.getBBox(); document.body.getBoundingClientRect();
  const t2 = performance.now();
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  const t3 = performance.now();
  svg.remove();
  return { script: t1 - t0, layout: t2 - t1, frame: t3 - t0, nodes: nodes.length };
}`;

/** Time from dispatch to the end of the frame that drew it (the view renders in requestAnimationFrame). */
const TIME_TIMELINE = `async (data) => {
  await new Promise(r => requestAnimationFrame(() => r()));
  const t0 = performance.now();
  window.dispatchEvent(new MessageEvent('message', { data }));
  const t1 = performance.now();
  const renderEnd = await new Promise(r => requestAnimationFrame(ts => r({ ts, end: performance.now() })));
  return { message: t1 - t0, render: renderEnd.end - Math.max(renderEnd.ts, t1), total: renderEnd.end - t0 };
}`;

async function benchRetainers(p: PanelPageHandle): Promise<void> {
  console.log('Retainers panel: render of a RetainerGraph (median of 5; frame = until the next frame after drawing)');
  console.log('  nodes   paths  drawn   script     layout    frame   | draw-all peer: drawn   frame      | peer/ours');
  for (const size of [10, 1000, 5000]) {
    const runs: { script: number; layout: number; frame: number; nodes: number }[] = [];
    const peer: typeof runs = [];
    const g = syntheticGraph(size, 11);
    const full = layoutRetainers(g, undefined, { ...DEFAULT_LAYOUT, nodeBudget: Infinity, fanLimit: Infinity });
    const peerData = {
      nodes: full.nodes.map(n => ({ x: n.x, y: n.y, w: n.w, h: n.h, type: n.node?.type ?? '', label: n.node?.label ?? '' })),
      edges: full.edges.map(e => ({ d: e.d, labelX: e.labelX, labelY: e.labelY, label: e.label })),
    };
    await p.page.evaluate(`window.__peer = ${JSON.stringify(peerData)}`);
    for (let i = 0; i < 6; i++) {
      // a new `source` each run: a first render, not a re-render of a known graph
      const msg = { type: 'retainers/graph', graph: { ...g, source: `run ${i}` } };
      await p.page.evaluate(`window.__msg = ${JSON.stringify(msg)}`);
      const r = await p.page.evaluate(`(${TIME_RETAINERS})(window.__msg)`) as (typeof runs)[number];
      const q = await p.page.evaluate(`(${DRAW_ALL})(window.__peer)`) as (typeof runs)[number];
      if (i > 0) { runs.push(r); peer.push(q); } // first run warms the JIT
    }
    const ours = median(runs.map(r => r.frame)), theirs = median(peer.map(r => r.frame));
    console.log(`  ${String(size).padStart(5)}  ${String(g.paths.length).padStart(5)}  ${String(runs[0].nodes).padStart(5)}  ${ms(median(runs.map(r => r.script))).padStart(9)}  ${ms(median(runs.map(r => r.layout))).padStart(9)}  ${ms(ours).padStart(9)}  |  ${String(peer[0].nodes).padStart(19)}  ${ms(theirs).padStart(9)}  | ${(theirs / ours).toFixed(1)}×`);
  }
  // Layout alone, in Node, for the same graphs (the pure part of the script time above).
  const line: string[] = [];
  for (const size of [10, 1000, 5000]) {
    const g = syntheticGraph(size, 11);
    const t: number[] = [];
    for (let i = 0; i < 6; i++) { const t0 = performance.now(); layoutRetainers(g); t.push(performance.now() - t0); }
    line.push(`${size}: ${ms(median(t.slice(1)))}`);
  }
  console.log(`  layout only (Node): ${line.join(' · ')}`);
}

function timelineState(workers: number, perWorker: number): TimelineState {
  const t0 = Date.UTC(2026, 10, 23, 12, 0, 0);
  const state: TimelineState = { workers: [], samples: [], markers: [], baseline: { t: t0 } };
  for (let w = 0; w < workers; w++) {
    state.workers.push({ id: String(100 + w), label: `ForkPoolWorker-${w + 1}` });
    for (let i = 0; i < perWorker; i++) state.samples.push({ workerId: String(100 + w), t: t0 + i * 2000, rss: (50 + w * 10 + i * 0.01 * (w + 1)) * 1048576, heapUsed: (20 + i * 0.005) * 1048576 });
  }
  for (let i = 0; i < perWorker / 5; i++) state.markers.push({ workerId: '100', t: t0 + i * 10_000 + 300, endT: t0 + i * 10_000 + 800, name: 'tasks.leak' });
  return state;
}

async function benchTimeline(p: PanelPageHandle): Promise<void> {
  console.log('\nMemory timeline: one new sample (4 workers; median of 10)');
  console.log('  samples/worker   append: render   total   | full re-send peer: render   total   | peer/ours');
  for (const per of [1000, 10_000, 20_000]) {
    const state = timelineState(4, per);
    await p.page.evaluate(`window.__state = ${JSON.stringify({ type: 'timeline/state', state })}`);
    await p.page.evaluate(`(${TIME_TIMELINE})(window.__state)`);
    const app: { render: number; total: number }[] = [], full: typeof app = [];
    let t = state.samples[state.samples.length - 1].t;
    for (let i = 0; i < 11; i++) {
      t += 2000;
      const sample = { workerId: '100', t, rss: 80 * 1048576, heapUsed: 30 * 1048576 };
      const a = await p.page.evaluate(`(${TIME_TIMELINE})(${JSON.stringify({ type: 'timeline/append', samples: [sample] })})`) as (typeof app)[number];
      // the peer: the same data plus this sample, sent whole (state object already in the page: no transfer cost)
      const f = await p.page.evaluate(`(() => { window.__state.state.samples.push(${JSON.stringify(sample)}); return (${TIME_TIMELINE})(window.__state); })()`) as (typeof app)[number];
      if (i > 0) { app.push(a); full.push(f); }
    }
    const ours = median(app.map(r => r.total)), theirs = median(full.map(r => r.total));
    console.log(`  ${String(per).padStart(14)}   ${ms(median(app.map(r => r.render))).padStart(13)}  ${ms(ours).padStart(8)}  | ${ms(median(full.map(r => r.render))).padStart(25)}  ${ms(theirs).padStart(8)}  | ${(theirs / ours).toFixed(1)}×`);
  }
}

async function main(): Promise<void> {
  await ensureBundles();
  const browser = await launchChromium();
  try {
    const r = await openPanel(browser, 'retainers', { width: 1400, height: 900 });
    await r.waitFor('ready');
    await benchRetainers(r);
    await r.close();
    const t = await openPanel(browser, 'timeline', { width: 1400, height: 500 });
    await t.waitFor('ready');
    await benchTimeline(t);
    await t.close();
  } finally {
    await browser.close();
  }
}

main().catch(e => { console.error(`webview bench failed: ${(e as Error).message}`); process.exit(1); });
