// The Memory timeline panel: RSS and heap used per worker over time (d3), one lane per measure with
// its own y axis scaled to the data (a 0.4 MB rise on a 48 MB worker must be visible, and RSS and heap
// used differ by 10×), task markers (ticks with names when sparse, a density strip when dense), a
// baseline, a hover/keyboard cursor with values. Appends update the existing elements (paths' `d`,
// axes, new markers only) once per animation frame, however many samples arrive.

import { select, type Selection } from 'd3-selection';
import { scaleLinear, scaleTime, type ScaleLinear } from 'd3-scale';
import { axisBottom, axisLeft } from 'd3-axis';
import { line } from 'd3-shape';
import type { TimelineBaseline, TimelineMarker, TimelineSample, TimelineState, TimelineWorker } from '../protocol/webview';
import { validateTimelineMarkers, validateTimelineSamples, validateTimelineState } from '../protocol/webview';
import { TimelineStore, decimate, METRICS, type Metric, type Series } from './timelineData';
import { formatBytes, formatClock, plural } from '../common/format';
import { h, showError, type Host } from './vscodeApi';

export interface TimelineViewState {
  hiddenWorkers: string[];
  hiddenMetrics: Metric[];
}

const METRIC_NAMES: Record<Metric, string> = { rss: 'RSS', heapUsed: 'Heap used', native: 'Native (no object explains)', mallocFree: 'Free held by malloc' };
const COLORS = 6; // .c0 … .c5 in panels.css map to --vscode-charts-* colours
const MARGIN = { top: 28, right: 24, bottom: 28, left: 76 };
/** Height of the task-marker strip above the lanes, of a lane's title row, and the gap between lanes. */
const STRIP = 16, TITLE = 18, GAP = 10;
/** A lane's y range spans at least 1 % of its top value (or 64 KB): noise must not look like growth. */
const MIN_SPAN_SHARE = 0.01, MIN_SPAN_BYTES = 64 * 1024;
const SVG_NS = 'http://www.w3.org/2000/svg';

/** A drawn marker: one task run, or (when dense) every run within one MARKER_COLUMN of pixels. */
type MarkerDatum = TimelineMarker & { key: string; count: number; names: Map<string, number> };
const MARKER_COLUMN = 4;
/** Markers are drawn one by one (tick + name) only while there are fewer than one per this many pixels. */
const SPARSE_PX = 12;

/** One measure's lane: its own y scale and unit. */
interface Lane {
  metric: Metric;
  top: number;
  height: number;
  y: ScaleLinear<number, number>;
  /** Bytes per y unit (1024^k): y() takes values / unit. */
  unit: number;
  g: Selection<SVGGElement, unknown, null, undefined>;
}

export class TimelineView {
  readonly store = new TimelineStore();
  private state: TimelineViewState = { hiddenWorkers: [], hiddenMetrics: [] };
  private readonly colorOf = new Map<string, number>();
  private frame: number | undefined;
  private cursorT: number | undefined;
  /** What the next frame must redraw: everything (scales changed), or only these workers' lines / the markers. */
  private full = true;
  private readonly dirty = new Set<string>();
  private markersDirty = false;
  private scaleKey = '';
  private width = 0;
  private height = 0;
  private readonly x = scaleTime();
  private readonly lanes = new Map<Metric, Lane>();
  private readonly svg: Selection<SVGSVGElement, unknown, null, undefined>;
  private readonly plot: Selection<SVGGElement, unknown, null, undefined>;
  private readonly gx: Selection<SVGGElement, unknown, null, undefined>;
  private readonly gLanes: Selection<SVGGElement, unknown, null, undefined>;
  private readonly gMarkers: Selection<SVGGElement, unknown, null, undefined>;
  private readonly gStrip: Selection<SVGGElement, unknown, null, undefined>;
  private readonly gBaseline: Selection<SVGGElement, unknown, null, undefined>;
  private readonly gCursor: Selection<SVGGElement, unknown, null, undefined>;
  private readonly summary = h('span', { id: 'summary', class: 'summary' });
  private readonly legend = h('div', { id: 'legend', class: 'legend', role: 'group', 'aria-label': 'Workers and measures shown' });
  private readonly tooltip = h('div', { id: 'tooltip', class: 'tooltip', hidden: true });
  private readonly readout = h('div', { id: 'readout', class: 'sr-only', 'aria-live': 'polite' });
  private readonly empty = h('div', { id: 'empty', class: 'empty' }, 'Waiting for samples: one arrives every few seconds while a worker is attached.');
  private readonly wrap = h('div', { class: 'chart-wrap' });

  constructor(root: HTMLElement, private readonly host: Host<TimelineViewState>) {
    const saved = host.getState();
    if (saved) this.state = { hiddenWorkers: saved.hiddenWorkers ?? [], hiddenMetrics: saved.hiddenMetrics ?? [] };
    root.append(
      h('header', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Memory timeline' }, h('h1', {}, 'Memory timeline'), this.summary, h('span', { class: 'spacer' }), this.legend),
      this.wrap, this.readout);
    const svgEl = document.createElementNS(SVG_NS, 'svg');
    svgEl.id = 'chart';
    svgEl.setAttribute('tabindex', '0');
    svgEl.setAttribute('role', 'img');
    svgEl.setAttribute('aria-label', 'Memory over time per worker. Left and right arrows move a cursor between samples and read out the values; Escape hides it.');
    this.wrap.append(svgEl, this.tooltip, this.empty);
    this.svg = select(svgEl);
    this.plot = this.svg.append('g').attr('class', 'plot').attr('transform', `translate(${MARGIN.left},${MARGIN.top})`);
    this.gx = this.plot.append('g').attr('class', 'axis axis-x');
    this.gLanes = this.plot.append('g').attr('class', 'lanes');
    this.gMarkers = this.plot.append('g').attr('class', 'markers');
    this.gStrip = this.plot.append('g').attr('class', 'marker-strip');
    this.gBaseline = this.plot.append('g').attr('class', 'baseline-layer');
    for (const m of METRICS) {
      const g = this.gLanes.append('g').attr('class', `lane metric-${m}`).attr('data-metric', m);
      g.append('text').attr('class', 'lane-title').attr('x', 4).attr('y', -6);
      g.append('g').attr('class', 'axis axis-y');
      g.append('g').attr('class', 'series-layer');
      this.lanes.set(m, { metric: m, top: 0, height: 10, y: scaleLinear(), unit: 1, g });
    }
    this.gCursor = this.plot.append('g').attr('class', 'cursor').attr('display', 'none');
    this.gCursor.append('line').attr('class', 'cursor-line');
    this.plot.append('rect').attr('class', 'overlay');

    svgEl.addEventListener('mousemove', e => {
      const [mx] = this.pointer(e);
      if (mx < 0 || mx > this.width) return this.setCursor(undefined);
      this.setCursor(this.snap(this.x.invert(mx).getTime()));
    });
    svgEl.addEventListener('mouseleave', () => this.setCursor(undefined));
    svgEl.addEventListener('keydown', e => this.onKey(e));
    new ResizeObserver(() => { this.full = true; this.schedule(); }).observe(this.wrap);
  }

  setState(state: TimelineState): void {
    const problem = validateTimelineState(state);
    if (problem) return this.fail(problem);
    showError(undefined);
    this.store.reset(state);
    for (const w of state.workers) this.color(w.id);
    this.buildLegend();
    this.gMarkers.selectAll('*').remove();
    this.gStrip.selectAll('*').remove();
    this.x.domain([0, 1]);
    this.full = true;
    this.schedule();
  }

  append(samples: TimelineSample[] = [], markers: TimelineMarker[] = [], workers: TimelineWorker[] = []): void {
    const problem = validateTimelineSamples(samples) ?? validateTimelineMarkers(markers);
    if (problem) return this.fail(problem);
    const known = this.store.series.size;
    this.store.addWorkers(workers);
    for (const id of this.store.addSamples(samples)) this.dirty.add(id);
    this.store.addMarkers(markers);
    if (markers.length) this.markersDirty = true;
    if (this.store.series.size !== known || workers.length) { this.buildLegend(); this.full = true; }
    this.schedule();
  }

  setBaseline(b: TimelineBaseline | null): void {
    this.store.baseline = b ?? undefined;
    this.full = true;
    this.schedule();
  }

  private fail(problem: string): void {
    const message = `Cannot draw the memory timeline: ${problem}.`;
    showError(message);
    this.host.post({ type: 'error', panel: 'timeline', message });
  }

  private color(id: string): number {
    let c = this.colorOf.get(id);
    if (c === undefined) { c = this.colorOf.size % COLORS; this.colorOf.set(id, c); }
    return c;
  }

  /** One frame per burst of messages. */
  private schedule(): void {
    if (this.frame !== undefined) return;
    this.frame = requestAnimationFrame(() => { this.frame = undefined; this.render(); });
  }

  /** RSS and heap used always; the breakdown's measures once some worker reports them. */
  private shownMetric(m: Metric): boolean { return m === 'rss' || m === 'heapUsed' || this.store.hasData(m); }

  private legendMetrics = '';

  /** From when the host has sampled (the attach, whether the panel was open or not), and what it folded. */
  private sinceText(): string {
    const ws = [...this.store.series.values()].map(s => s.worker);
    const since = ws.map(w => w.since).filter((t): t is number => t !== undefined);
    if (!since.length) return '';
    const folded = ws.map(w => w.foldedUntil).filter((t): t is number => t !== undefined);
    const marks = ws.map(w => w.markersSince).filter((t): t is number => t !== undefined);
    return ` · sampled from the attach on (since ${formatClock(Math.min(...since))})${folded.length ? `; one point per minute, the highest, before ${formatClock(Math.max(...folded))}` : ''}${marks.length ? `; task markers since ${formatClock(Math.max(...marks))}` : ''}`;
  }

  private buildLegend(): void {
    this.legend.replaceChildren();
    for (const s of this.store.series.values()) {
      const id = s.worker.id;
      const b = h('button', { type: 'button', class: `legend-item c${this.color(id)}`, 'data-worker': id, 'aria-pressed': String(!this.state.hiddenWorkers.includes(id)) },
        h('span', { class: 'swatch', 'aria-hidden': 'true' }), s.worker.label);
      if (s.worker.since !== undefined) b.title = `${s.worker.label}: sampled since ${formatClock(s.worker.since)} (attached)`;
      b.addEventListener('click', () => this.toggleIn(this.state.hiddenWorkers, id, b));
      this.legend.append(b);
    }
    this.legendMetrics = METRICS.filter(m => this.shownMetric(m)).join(',');
    for (const m of METRICS) {
      if (!this.shownMetric(m)) continue;
      const b = h('button', { type: 'button', class: `legend-metric metric-${m}`, 'data-metric': m, 'aria-pressed': String(!this.state.hiddenMetrics.includes(m)) },
        h('span', { class: 'dash', 'aria-hidden': 'true' }), METRIC_NAMES[m]);
      b.addEventListener('click', () => this.toggleIn(this.state.hiddenMetrics as string[], m, b));
      this.legend.append(b);
    }
  }

  private toggleIn(list: string[], id: string, button: HTMLElement): void {
    const i = list.indexOf(id);
    if (i >= 0) list.splice(i, 1); else list.push(id);
    button.setAttribute('aria-pressed', String(i >= 0));
    this.host.setState(this.state);
    this.full = true;
    this.schedule();
  }

  private render(): void {
    const svgEl = this.svg.node()!;
    const W = this.wrap.clientWidth || 800, H = this.wrap.clientHeight || 400;
    svgEl.setAttribute('width', String(W));
    svgEl.setAttribute('height', String(H));
    this.width = Math.max(10, W - MARGIN.left - MARGIN.right);
    this.height = Math.max(10, H - MARGIN.top - MARGIN.bottom);
    this.plot.select('rect.overlay').attr('width', this.width).attr('height', this.height);

    const extent = this.store.timeExtent();
    const samples = [...this.store.series.values()].reduce((n, s) => n + s.t.length, 0);
    this.empty.hidden = samples > 0;
    if (!extent) { this.summary.textContent = 'no samples yet'; return; }
    const [e0, e1] = extent[0] === extent[1] ? [extent[0] - 30_000, extent[1] + 1_000] : extent;
    const hiddenW = new Set(this.state.hiddenWorkers);
    // a lane per measure some worker has (the breakdown's measures only for workers that report them)
    if (METRICS.filter(m => this.shownMetric(m)).join(',') !== this.legendMetrics) { this.buildLegend(); this.full = true; }
    const metrics = METRICS.filter(m => !this.state.hiddenMetrics.includes(m) && this.shownMetric(m));
    // Scales move in steps, not on every sample: the time axis gets 10 % headroom and each lane keeps
    // its range while the data fits it well, so a typical append redraws one worker's lines only.
    const [d0, d1] = this.x.domain().map(d => d.getTime());
    if (this.full || d0 !== e0 || d1 < e1) this.x.domain([e0, e1 + Math.max(10_000, (e1 - e0) * 0.1)]);
    this.x.range([0, this.width]);
    const [t0, t1] = this.x.domain().map(d => d.getTime());
    const laneKeys = this.layoutLanes(metrics, hiddenW);
    const key = `${this.width}x${this.height} ${t0} ${t1} ${laneKeys}`;
    if (key !== this.scaleKey) { this.full = true; this.scaleKey = key; }

    if (this.full) {
      const lastLane = this.lanes.get(metrics[metrics.length - 1] ?? 'rss')!;
      this.gx.attr('transform', `translate(0,${lastLane.top + lastLane.height})`)
        .call(axisBottom<Date>(this.x).ticks(Math.max(2, Math.floor(this.width / 110))).tickFormat(d => formatClock(+d)));
      for (const lane of this.lanes.values()) this.drawLane(lane, metrics.includes(lane.metric));
      this.drawSeries(t0, t1, hiddenW, undefined);
      this.drawMarkers(t0, t1);
      this.drawBaseline();
    } else {
      this.drawSeries(t0, t1, hiddenW, this.dirty);
      if (this.markersDirty) this.drawMarkers(t0, t1);
    }
    this.full = false;
    this.markersDirty = false;
    this.dirty.clear();
    const dropped = this.store.dropped ? ` · ${plural(this.store.dropped, 'old sample')} dropped` : '';
    this.summary.textContent = `${plural(this.store.series.size, 'worker')} · ${plural(samples, 'sample')} · ${plural(this.store.markers.length, 'task marker')} · ${formatClock(t0)}–${formatClock(t1)}${dropped}${this.sinceText()}`;
    if (this.cursorT !== undefined) this.setCursor(this.cursorT);
  }

  /**
   * Places the shown lanes one under the other and fits each y scale to its data: [min, max] of the
   * shown workers with 10 % headroom, at least MIN_SPAN wide, re-fitted only when the data leaves the
   * range or fills less than 40 % of it. Returns a key that changes when any lane's scale changes.
   */
  private layoutLanes(metrics: Metric[], hidden: Set<string>): string {
    const n = Math.max(1, metrics.length);
    const laneH = Math.max(20, (this.height - STRIP - n * TITLE - (n - 1) * GAP) / n);
    const keys: string[] = [];
    metrics.forEach((m, i) => {
      const lane = this.lanes.get(m)!;
      lane.top = STRIP + TITLE + i * (laneH + TITLE + GAP);
      lane.height = laneH;
      const [lo, hi] = this.store.range(m, hidden) ?? [0, 1024];
      const [y0, y1] = lane.y.domain().map(v => v * lane.unit);
      const fits = lo >= y0 && hi <= y1 && (hi - lo) >= 0.4 * (y1 - y0 - this.minSpan(hi));
      if (this.full || !fits) {
        const k = Math.max(0, Math.min(3, Math.floor(Math.log(Math.max(hi, 1)) / Math.log(1024))));
        lane.unit = 1024 ** k;
        const span = Math.max(hi - lo, this.minSpan(hi));
        const mid = (lo + hi) / 2;
        const a = Math.max(0, mid - span * 0.55), b = a + span * 1.1;
        lane.y.domain([a / lane.unit, b / lane.unit]).nice(Math.max(3, Math.floor(laneH / 28)));
      }
      lane.y.range([laneH, 0]);
      keys.push(`${m}:${lane.y.domain().join(',')}:${lane.unit}:${laneH}`);
    });
    return keys.join(' ');
  }

  private minSpan(top: number): number {
    return Math.max(MIN_SPAN_BYTES, top * MIN_SPAN_SHARE);
  }

  /** A lane's title (measure and shown range), y axis with units, and visibility. */
  private drawLane(lane: Lane, shown: boolean): void {
    lane.g.attr('display', shown ? null : 'none').attr('transform', `translate(0,${lane.top})`);
    if (!shown) return;
    const unitName = ['B', 'KB', 'MB', 'GB'][Math.round(Math.log(lane.unit) / Math.log(1024))];
    const ticks = Math.max(3, Math.floor(lane.height / 28));
    const fmt = lane.y.tickFormat(ticks);
    lane.g.select<SVGGElement>('g.axis-y').call(axisLeft<number>(lane.y).ticks(ticks).tickFormat(v => `${fmt(v)} ${unitName}`).tickSize(-this.width));
    const [a, b] = lane.y.domain();
    lane.g.select('text.lane-title').text(`${METRIC_NAMES[lane.metric]} · ${fmt(a)}–${fmt(b)} ${unitName}${a > 0 ? ' (axis not from 0)' : ''}`);
    lane.g.attr('data-y0', a * lane.unit).attr('data-y1', b * lane.unit);
  }

  /** Redraws the lines of `only` these workers (all when undefined; new workers come with a full redraw). */
  private drawSeries(t0: number, t1: number, hidden: Set<string>, only: Set<string> | undefined): void {
    const px = Math.max(1, Math.round(this.width));
    for (const lane of this.lanes.values()) {
      const m = lane.metric;
      const items = this.shownMetric(m) ? [...this.store.series.values()].map(s => ({ key: s.worker.id, s })) : [];
      const gen = line<[number, number] | null>().defined(p => p !== null).x(p => this.x(p![0])).y(p => lane.y(p![1] / lane.unit));
      let paths = lane.g.select<SVGGElement>('g.series-layer').selectAll<SVGPathElement, (typeof items)[number]>('path.series')
        .data(items, d => d.key)
        .join(enter => enter.append('path'));
      if (only) paths = paths.filter(d => only.has(d.s.worker.id));
      paths.attr('class', d => `series metric-${m} c${this.color(d.s.worker.id)}`)
        .attr('data-worker', d => d.s.worker.id)
        .attr('data-metric', m)
        .attr('data-count', d => d.s[m].filter(v => v !== undefined).length)
        .attr('data-last', d => lastDefined(d.s[m]) ?? null)
        .attr('data-first-t', d => { const i = d.s[m].findIndex(v => v !== undefined); return i >= 0 ? d.s.t[i] : null; })
        .attr('display', d => (hidden.has(d.s.worker.id) || this.state.hiddenMetrics.includes(m) ? 'none' : null))
        .attr('d', d => gen(decimate(d.s.t, d.s[m], t0, t1, px)) ?? '');
    }
  }

  /**
   * Sparse: one tick per run across the lanes, with its name where it does not overlap the previous
   * one. Dense (more than one run per SPARSE_PX pixels): a density strip above the lanes, one column
   * per MARKER_COLUMN pixels, its height the number of runs, its title the names and counts.
   */
  private drawMarkers(t0: number, t1: number): void {
    const inView = this.store.markers.filter(m => (m.endT ?? m.t) >= t0 && m.t <= t1);
    const dense = inView.length > this.width / SPARSE_PX;
    const bottom = Math.max(...[...this.lanes.values()].filter(l => !this.state.hiddenMetrics.includes(l.metric)).map(l => l.top + l.height), STRIP);
    const data: MarkerDatum[] = dense
      ? bucketMarkers(inView, t => Math.floor(this.x(t) / MARKER_COLUMN))
      : inView.map(m => ({ ...m, key: `${m.t}\n${m.workerId ?? ''}\n${m.name}`, count: 1, names: new Map([[m.name, 1]]) }));
    this.svg.attr('data-markers', dense ? 'dense' : 'sparse');
    const labelled = new Set<string>();
    if (!dense) {
      let lastEnd = -Infinity;
      for (const m of data) {
        const x = this.x(m.t);
        if (x >= lastEnd) { labelled.add(m.key); lastEnd = x + m.name.length * 6.2 + 12; }
      }
    }
    const maxCount = Math.max(1, ...data.map(d => d.count));
    this.gStrip.selectAll('text.strip-label').data(dense ? [inView.length] : []).join('text')
      .attr('class', 'strip-label').attr('x', -MARGIN.left + 8).attr('y', STRIP - 4)
      .text(n => `${n.toLocaleString('en-US')} runs`);
    const sel = this.gMarkers.selectAll<SVGGElement, MarkerDatum>('g.marker')
      .data(data, d => `${dense ? 'd' : 's'} ${d.key}`)
      .join(enter => {
        const g = enter.append('g');
        g.append('rect').attr('class', 'band');
        g.append('line').attr('class', 'tick');
        g.append('rect').attr('class', 'density');
        g.append('text').attr('class', 'marker-label').attr('y', STRIP - 4);
        g.append('title');
        return g;
      });
    sel.attr('class', d => `marker${dense ? ' dense' : ''}${d.workerId !== undefined && this.colorOf.has(d.workerId) ? ` c${this.colorOf.get(d.workerId)}` : ''}${labelled.has(d.key) || dense ? '' : ' unlabelled'}`)
      .attr('data-name', d => topName(d.names))
      .attr('data-names', d => [...d.names.keys()].join(' '))
      .attr('data-count', d => d.count)
      .attr('data-worker', d => d.workerId ?? null)
      .attr('transform', d => `translate(${this.x(d.t).toFixed(1)},0)`)
      .each((d, i, nodes) => {
        const g = select(nodes[i]);
        const w = !dense && d.endT !== undefined ? Math.max(1, this.x(d.endT) - this.x(d.t)) : 0;
        g.select('rect.band').attr('y', STRIP).attr('width', w).attr('height', bottom - STRIP).attr('display', w ? null : 'none');
        g.select('line.tick').attr('y1', STRIP).attr('y2', bottom).attr('display', dense ? 'none' : null);
        const hgt = dense ? Math.max(2, Math.round((STRIP - 3) * d.count / maxCount)) : 0;
        g.select('rect.density').attr('x', 0).attr('width', MARKER_COLUMN - 1).attr('y', STRIP - hgt).attr('height', hgt).attr('display', dense ? null : 'none');
        g.select('text').text(labelled.has(d.key) ? d.name : '');
        g.select('title').text(d.count > 1 ? `${d.count} task runs from ${formatClock(d.t)}: ${[...d.names].map(([n, c]) => `${n} ×${c}`).join(', ')}` : markerText(d, this.store.series.get(d.workerId ?? '')?.worker.label));
      });
  }

  private drawBaseline(): void {
    const b = this.store.baseline;
    const sel = this.gBaseline.selectAll<SVGGElement, TimelineBaseline>('g.baseline').data(b ? [b] : []).join(enter => {
      const g = enter.append('g').attr('class', 'baseline');
      g.append('line');
      g.append('text').attr('y', this.height - 6).attr('x', 4);
      return g;
    });
    sel.attr('transform', d => `translate(${this.x(d.t).toFixed(1)},0)`).attr('data-t', d => d.t);
    sel.select('line').attr('y1', STRIP).attr('y2', this.height);
    sel.select('text').attr('y', this.height - 6).text(d => d.label ?? `baseline ${formatClock(d.t)}`);
  }

  /** Nearest sample time (any shown worker) to t. */
  private snap(t: number): number | undefined {
    let best: number | undefined;
    for (const s of this.store.series.values()) {
      if (this.state.hiddenWorkers.includes(s.worker.id)) continue;
      const i = this.store.nearest(s.worker.id, t);
      if (i >= 0 && (best === undefined || Math.abs(s.t[i] - t) < Math.abs(best - t))) best = s.t[i];
    }
    return best;
  }

  private setCursor(t: number | undefined): void {
    this.cursorT = t;
    if (t === undefined || !this.store.timeExtent()) {
      this.gCursor.attr('display', 'none');
      this.tooltip.hidden = true;
      return;
    }
    const x = this.x(t);
    this.gCursor.attr('display', null).attr('transform', `translate(${x.toFixed(1)},0)`);
    this.gCursor.select('line').attr('y2', this.height);
    const rows: { label: string; values: string; color: number }[] = [];
    const dots: { y: number; c: number; m: Metric }[] = [];
    for (const s of this.store.series.values()) {
      if (this.state.hiddenWorkers.includes(s.worker.id)) continue;
      const i = this.store.nearest(s.worker.id, t);
      if (i < 0 || Math.abs(s.t[i] - t) > 10_000) continue;
      const parts: string[] = [];
      for (const m of METRICS) {
        const v = s[m][i];
        if (v === undefined || this.state.hiddenMetrics.includes(m)) continue;
        parts.push(`${METRIC_NAMES[m]} ${formatBytes(v)}${this.sinceBaseline(s, m, v)}`);
        const lane = this.lanes.get(m)!;
        dots.push({ y: lane.top + lane.y(v / lane.unit), c: this.color(s.worker.id), m });
      }
      if (parts.length) rows.push({ label: s.worker.label, values: parts.join(' · '), color: this.color(s.worker.id) });
    }
    this.gCursor.selectAll('circle').data(dots).join('circle').attr('r', 3.5).attr('cy', d => d.y).attr('class', d => `dot c${d.c} metric-${d.m}`);
    const near = this.store.markers.filter(m => Math.abs(this.x(m.t) - x) <= 6 || (m.endT !== undefined && m.t <= t && t <= m.endT));
    this.tooltip.replaceChildren(h('div', { class: 'tt-time' }, formatClock(t)),
      ...rows.map(r => h('div', { class: `tt-row c${r.color}` }, h('span', { class: 'swatch', 'aria-hidden': 'true' }), h('strong', {}, r.label), ` ${r.values}`)),
      ...near.slice(0, 5).map(m => h('div', { class: 'tt-marker' }, markerText(m, this.store.series.get(m.workerId ?? '')?.worker.label))),
      ...(near.length > 5 ? [h('div', { class: 'tt-marker' }, `and ${plural(near.length - 5, 'more task')}`)] : []));
    this.tooltip.hidden = false;
    const left = MARGIN.left + x + 14;
    const tw = this.tooltip.offsetWidth;
    this.tooltip.style.left = `${left + tw > this.wrap.clientWidth ? Math.max(0, MARGIN.left + x - tw - 14) : left}px`;
    this.tooltip.style.top = `${MARGIN.top + 8}px`;
    this.readout.textContent = `${formatClock(t)}: ${rows.map(r => `${r.label} ${r.values}`).join('; ')}${near.length ? '; tasks: ' + near.map(m => m.name).join(', ') : ''}`;
  }

  private sinceBaseline(s: Series, m: Metric, v: number): string {
    const b = this.store.baseline;
    if (!b) return '';
    const i = this.store.nearest(s.worker.id, b.t);
    const base = i >= 0 ? s[m][i] : undefined;
    if (base === undefined) return '';
    const d = v - base;
    return ` (${d >= 0 ? '+' : '−'}${formatBytes(Math.abs(d))} since baseline)`;
  }

  private onKey(e: KeyboardEvent): void {
    const times = this.store.allTimes();
    if (!times.length) return;
    const i = this.cursorT === undefined ? -1 : times.indexOf(this.cursorT);
    let next: number | undefined;
    switch (e.key) {
      case 'ArrowLeft': next = times[i < 0 ? times.length - 1 : Math.max(0, i - 1)]; break;
      case 'ArrowRight': next = times[i < 0 ? times.length - 1 : Math.min(times.length - 1, i + 1)]; break;
      case 'Home': next = times[0]; break;
      case 'End': next = times[times.length - 1]; break;
      case 'Escape': this.setCursor(undefined); e.preventDefault(); return;
      default: return;
    }
    e.preventDefault();
    this.setCursor(next);
  }

  private pointer(e: MouseEvent): [number, number] {
    const r = this.svg.node()!.getBoundingClientRect();
    return [e.clientX - r.left - MARGIN.left, e.clientY - r.top - MARGIN.top];
  }
}

/** Merges markers falling in the same pixel column: DOM stays bounded by the chart width. */
function bucketMarkers(markers: TimelineMarker[], column: (t: number) => number): MarkerDatum[] {
  const out: MarkerDatum[] = [];
  let cur: MarkerDatum | undefined, col = NaN;
  for (const m of markers) {
    const c = column(m.t);
    if (cur && c === col) {
      cur.count++;
      cur.names.set(m.name, (cur.names.get(m.name) ?? 0) + 1);
      if (m.endT !== undefined) cur.endT = Math.max(cur.endT ?? m.endT, m.endT);
      if (cur.workerId !== m.workerId) delete cur.workerId;
      continue;
    }
    cur = { ...m, key: `col ${c}`, count: 1, names: new Map([[m.name, 1]]) };
    col = c;
    out.push(cur);
  }
  return out;
}

/** The most frequent task name of a marker column. */
function topName(names: Map<string, number>): string {
  let best = '', n = -1;
  for (const [k, c] of names) if (c > n) { best = k; n = c; }
  return best;
}

function lastDefined(v: (number | undefined)[]): number | undefined {
  for (let i = v.length - 1; i >= 0; i--) if (v[i] !== undefined) return v[i];
  return undefined;
}

function markerText(m: TimelineMarker, worker: string | undefined): string {
  const dur = m.endT !== undefined ? ` (${Math.max(0, m.endT - m.t).toLocaleString('en-US')} ms)` : '';
  return `task ${m.name} at ${formatClock(m.t)}${dur}${worker ? ' on ' + worker : ''}`;
}
