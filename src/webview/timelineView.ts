// The Memory timeline panel: RSS and heap used per worker over time (d3), task markers, a baseline,
// a hover/keyboard cursor with values. Appends update the existing elements (paths' `d`, axes, new
// markers only) once per animation frame, however many samples arrive.

import { select, type Selection } from 'd3-selection';
import { scaleLinear, scaleTime } from 'd3-scale';
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

const METRIC_NAMES: Record<Metric, string> = { rss: 'RSS', heapUsed: 'Heap used' };
const COLORS = 6; // .c0 … .c5 in panels.css map to --vscode-charts-* colours
const MARGIN = { top: 28, right: 24, bottom: 28, left: 68 };
const SVG_NS = 'http://www.w3.org/2000/svg';

/** A drawn marker: one task run, or (when dense) every run within one MARKER_COLUMN of pixels. */
type MarkerDatum = TimelineMarker & { key: string; count: number };
const MARKER_COLUMN = 4;

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
  private readonly y = scaleLinear();
  /** Bytes per y unit (1024^k): y() takes values / unit. */
  private unit = 1;
  private readonly svg: Selection<SVGSVGElement, unknown, null, undefined>;
  private readonly plot: Selection<SVGGElement, unknown, null, undefined>;
  private readonly gx: Selection<SVGGElement, unknown, null, undefined>;
  private readonly gy: Selection<SVGGElement, unknown, null, undefined>;
  private readonly gMarkers: Selection<SVGGElement, unknown, null, undefined>;
  private readonly gSeries: Selection<SVGGElement, unknown, null, undefined>;
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
    this.gy = this.plot.append('g').attr('class', 'axis axis-y');
    this.gMarkers = this.plot.append('g').attr('class', 'markers');
    this.gBaseline = this.plot.append('g').attr('class', 'baseline-layer');
    this.gSeries = this.plot.append('g').attr('class', 'series-layer');
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

  private buildLegend(): void {
    this.legend.replaceChildren();
    for (const s of this.store.series.values()) {
      const id = s.worker.id;
      const b = h('button', { type: 'button', class: `legend-item c${this.color(id)}`, 'data-worker': id, 'aria-pressed': String(!this.state.hiddenWorkers.includes(id)) },
        h('span', { class: 'swatch', 'aria-hidden': 'true' }), s.worker.label);
      b.addEventListener('click', () => this.toggleIn(this.state.hiddenWorkers, id, b));
      this.legend.append(b);
    }
    for (const m of METRICS) {
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
    const metrics = METRICS.filter(m => !this.state.hiddenMetrics.includes(m));
    // Scales move in steps, not on every sample: the time axis gets 10 % headroom and the y axis
    // keeps its top while the data fits, so a typical append redraws one worker's lines only.
    const [d0, d1] = this.x.domain().map(d => d.getTime());
    if (this.full || d0 !== e0 || d1 < e1) this.x.domain([e0, e1 + Math.max(10_000, (e1 - e0) * 0.1)]);
    this.x.range([0, this.width]);
    const [t0, t1] = this.x.domain().map(d => d.getTime());
    const max = Math.max(1024, this.store.maxValue(metrics, hiddenW));
    const top = this.y.domain()[1] * this.unit;
    if (this.full || max > top || max < top * 0.5) {
      // Ticks at round numbers of KB/MB/GB (powers of 1024), not of bytes.
      const k = Math.min(3, Math.floor(Math.log(max) / Math.log(1024)));
      this.unit = 1024 ** k;
      this.y.domain([0, (max / this.unit) * 1.08]).nice();
    }
    this.y.range([this.height, 0]);
    const key = `${this.width}x${this.height} ${t0} ${t1} ${this.y.domain()[1]} ${this.unit}`;
    if (key !== this.scaleKey) { this.full = true; this.scaleKey = key; }

    if (this.full) {
      const unitName = ['B', 'KB', 'MB', 'GB'][Math.round(Math.log(this.unit) / Math.log(1024))];
      this.gx.attr('transform', `translate(0,${this.height})`).call(axisBottom<Date>(this.x).ticks(Math.max(2, Math.floor(this.width / 110))));
      this.gy.call(axisLeft<number>(this.y).ticks(Math.max(2, Math.floor(this.height / 50))).tickFormat(v => `${Number(v).toLocaleString('en-US')} ${unitName}`).tickSize(-this.width));
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
    this.summary.textContent = `${plural(this.store.series.size, 'worker')} · ${plural(samples, 'sample')} · ${plural(this.store.markers.length, 'task marker')} · ${formatClock(t0)}–${formatClock(t1)}${dropped}`;
    if (this.cursorT !== undefined) this.setCursor(this.cursorT);
  }

  /** Redraws the lines of `only` these workers (all when undefined; new workers come with a full redraw). */
  private drawSeries(t0: number, t1: number, hidden: Set<string>, only: Set<string> | undefined): void {
    const items: { key: string; s: Series; m: Metric }[] = [];
    for (const s of this.store.series.values()) for (const m of METRICS) items.push({ key: `${s.worker.id}\n${m}`, s, m });
    const gen = line<[number, number] | null>().defined(p => p !== null).x(p => this.x(p![0])).y(p => this.y(p![1] / this.unit));
    const px = Math.max(1, Math.round(this.width));
    let paths = this.gSeries.selectAll<SVGPathElement, (typeof items)[number]>('path.series')
      .data(items, d => d.key)
      .join(enter => enter.append('path'));
    if (only) paths = paths.filter(d => only.has(d.s.worker.id));
    paths.attr('class', d => `series metric-${d.m} c${this.color(d.s.worker.id)}`)
      .attr('data-worker', d => d.s.worker.id)
      .attr('data-metric', d => d.m)
      .attr('data-count', d => d.s[d.m].filter(v => v !== undefined).length)
      .attr('data-last', d => lastDefined(d.s[d.m]) ?? null)
      .attr('display', d => (hidden.has(d.s.worker.id) || this.state.hiddenMetrics.includes(d.m) ? 'none' : null))
      .attr('d', d => gen(decimate(d.s.t, d.s[d.m], t0, t1, px)) ?? '');
  }

  private drawMarkers(t0: number, t1: number): void {
    const inView = this.store.markers.filter(m => (m.endT ?? m.t) >= t0 && m.t <= t1);
    const data: MarkerDatum[] = inView.length > this.width / MARKER_COLUMN
      ? bucketMarkers(inView, t => Math.floor(this.x(t) / MARKER_COLUMN))
      : inView.map(m => ({ ...m, key: `${m.t}\n${m.workerId ?? ''}\n${m.name}`, count: 1 }));
    // Labels only where they do not overlap the previous label; the rest show on hover.
    let lastEnd = -Infinity;
    const labelled = new Set<string>();
    for (const m of data) {
      const x = this.x(m.t);
      if (x >= lastEnd) { labelled.add(m.key); lastEnd = x + m.name.length * 6.2 + 12; }
    }
    const sel = this.gMarkers.selectAll<SVGGElement, MarkerDatum>('g.marker')
      .data(data, d => d.key)
      .join(enter => {
        const g = enter.append('g');
        g.append('rect').attr('class', 'band');
        g.append('line').attr('class', 'tick');
        g.append('text').attr('class', 'marker-label').attr('y', -6);
        g.append('title');
        return g;
      });
    sel.attr('class', d => `marker${d.workerId !== undefined && this.colorOf.has(d.workerId) ? ` c${this.colorOf.get(d.workerId)}` : ''}${labelled.has(d.key) ? '' : ' unlabelled'}`)
      .attr('data-name', d => d.name)
      .attr('data-count', d => d.count)
      .attr('data-worker', d => d.workerId ?? null)
      .attr('transform', d => `translate(${this.x(d.t).toFixed(1)},0)`)
      .each((d, i, nodes) => {
        const g = select(nodes[i]);
        const w = d.endT !== undefined ? Math.max(1, this.x(d.endT) - this.x(d.t)) : 0;
        g.select('rect.band').attr('width', w).attr('height', this.height).attr('display', w ? null : 'none');
        g.select('line.tick').attr('y2', this.height);
        g.select('text').text(labelled.has(d.key) ? d.name : '');
        g.select('title').text(d.count > 1 ? `${d.count} task runs (${d.name}) from ${formatClock(d.t)}` : markerText(d, this.store.series.get(d.workerId ?? '')?.worker.label));
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
    sel.select('line').attr('y2', this.height);
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
        dots.push({ y: this.y(v / this.unit), c: this.color(s.worker.id), m });
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
      if (m.endT !== undefined) cur.endT = Math.max(cur.endT ?? m.endT, m.endT);
      if (cur.name !== m.name) cur.name = 'tasks';
      if (cur.workerId !== m.workerId) delete cur.workerId;
      continue;
    }
    cur = { ...m, key: `col ${c}`, count: 1 };
    col = c;
    out.push(cur);
  }
  return out;
}

function lastDefined(v: (number | undefined)[]): number | undefined {
  for (let i = v.length - 1; i >= 0; i--) if (v[i] !== undefined) return v[i];
  return undefined;
}

function markerText(m: TimelineMarker, worker: string | undefined): string {
  const dur = m.endT !== undefined ? ` (${Math.max(0, m.endT - m.t).toLocaleString('en-US')} ms)` : '';
  return `task ${m.name} at ${formatClock(m.t)}${dur}${worker ? ' on ' + worker : ''}`;
}
