// The Retainers panel: draws a RetainerGraph with d3 (layered layout from retainersLayout.ts),
// zoom/pan, keyboard navigation with one roving tab stop, a details pane and a list of paths.
// Everything shown comes from data through textContent/attributes, never as markup.

import { select, type Selection } from 'd3-selection';
import { zoom, zoomIdentity, type ZoomBehavior } from 'd3-zoom';
import type { RetainerGraph, RetainerNode, RootKind } from '../protocol/webview';
import { validateRetainerGraph } from '../protocol/webview';
import { layoutRetainers, truncateMiddle, MORE_PATHS_ID, type LaidEdge, type LaidNode, type RetainerLayout, type LayoutOptions, DEFAULT_LAYOUT } from './retainersLayout';
import { formatBytes, formatCount, plural } from '../common/format';
import { h, showError, type Host } from './vscodeApi';

/** What survives a reload of the page (panel hidden then shown again). */
export interface RetainersViewState {
  graphKey: string;
  collapsed: string[];
  pages: Record<string, number>;
  transform?: { x: number; y: number; k: number };
  selected?: string;
}

/** Node text is 12 px: below 0.85 it is no longer comfortably readable, above 1.25 it looks oversized. */
const MIN_SCALE = 0.85, MAX_SCALE = 1.25;
const FIT_FLOOR = 0.65;  // below MIN_SCALE only to show a small graph whole (node text stays >= ~8 px)
const ROOT_NAMES: Record<RootKind, string> = { module: 'module root', thread: 'thread root', gcRoot: 'GC root', v8GcRoot: 'V8 GC root', global: 'global root' };

/** First line of a node: its type, with the kind of root for roots ("module root", "list · global"). */
function typeLine(n: RetainerNode): string {
  if (!n.rootKind) return n.type;
  const kind = ROOT_NAMES[n.rootKind];
  return kind.startsWith(n.type + ' ') ? kind : `${n.type} · ${kind.replace(' root', '')}`;
}
const SVG_NS = 'http://www.w3.org/2000/svg';
const PATH_LIST_MAX = 50; // the list is for reading; the graph and its groups hold the rest

export class RetainersView {
  private graph: RetainerGraph | undefined;
  private layout: RetainerLayout | undefined;
  private state: RetainersViewState = { graphKey: '', collapsed: [], pages: {} };
  private focusId: string | undefined;
  private highlighted: string | undefined;
  private readonly svg: Selection<SVGSVGElement, unknown, null, undefined>;
  private readonly viewport: Selection<SVGGElement, unknown, null, undefined>;
  private readonly gEdges: Selection<SVGGElement, unknown, null, undefined>;
  private readonly gNodes: Selection<SVGGElement, unknown, null, undefined>;
  private readonly zoomer: ZoomBehavior<SVGSVGElement, unknown>;
  /** True while the view is the fitted one (refit on resize); false once the user zooms or pans. */
  private autoFit = true;
  private readonly title = h('h1', { id: 'title' });
  private readonly summary = h('span', { id: 'summary', class: 'summary' });
  private readonly status = h('span', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite' });
  private readonly details = h('section', { id: 'node-details', class: 'node-details', 'aria-live': 'polite' });
  private readonly pathList = h('ol', { id: 'paths', class: 'paths' });
  private readonly empty = h('div', { id: 'empty', class: 'empty' }, 'Waiting for retainer data…');
  private readonly morePaths = h('button', { id: 'show-more-paths', type: 'button', hidden: true });

  constructor(root: HTMLElement, private readonly host: Host<RetainersViewState>, private readonly opts: LayoutOptions = DEFAULT_LAYOUT) {
    const saved = host.getState();
    if (saved && typeof saved.graphKey === 'string') this.state = { collapsed: [], pages: {}, ...saved } as RetainersViewState;

    const fit = h('button', { id: 'fit', type: 'button', title: 'Fit the graph in the panel' }, 'Fit');
    const save = h('button', { id: 'save-snapshot', type: 'button', class: 'primary', title: 'Save the heap snapshot as a .heapsnapshot file (opens in Chrome DevTools)' }, 'Save snapshot');
    fit.addEventListener('click', () => this.fit());
    save.addEventListener('click', () => this.host.post({ type: 'retainers/saveSnapshot' }));
    this.morePaths.addEventListener('click', () => this.toggle(MORE_PATHS_ID));
    const header = h('header', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Retainers' }, this.title, this.summary, this.status, h('span', { class: 'spacer' }), this.morePaths, fit, save);

    const svgEl = document.createElementNS(SVG_NS, 'svg');
    svgEl.id = 'graph';
    svgEl.setAttribute('role', 'group');
    svgEl.setAttribute('tabindex', '-1'); // the nodes are the tab stop, not the canvas
    svgEl.setAttribute('aria-label', 'Retainer graph: roots on the left, instances on the right. Arrow keys move between nodes, Enter selects, minus/plus collapse or expand.');
    const graphWrap = h('div', { class: 'graph-wrap' });
    graphWrap.append(svgEl, this.empty);
    const aside = h('aside', { class: 'side', 'aria-label': 'Details' },
      this.details,
      h('section', { class: 'path-section' }, h('h2', {}, 'Paths'), this.pathList));
    root.append(header, h('main', { class: 'retainers' }, graphWrap, aside));

    this.svg = select(svgEl);
    const defs = this.svg.append('defs');
    defs.append('marker').attr('id', 'arrow').attr('viewBox', '0 0 10 10').attr('refX', 10).attr('refY', 5)
      .attr('markerUnits', 'userSpaceOnUse').attr('markerWidth', 9).attr('markerHeight', 9).attr('orient', 'auto-start-reverse')
      .append('path').attr('class', 'arrow-head').attr('d', 'M0,0L10,5L0,10z');
    this.viewport = this.svg.append('g').attr('class', 'viewport');
    this.gEdges = this.viewport.append('g').attr('class', 'edges');
    this.gNodes = this.viewport.append('g').attr('class', 'nodes');
    this.zoomer = zoom<SVGSVGElement, unknown>().scaleExtent([0.1, 3])
      .filter((ev: MouseEvent) => (!ev.ctrlKey || ev.type === 'wheel') && !ev.button && !(ev.target as Element).closest?.('g.toggle'))
      .on('zoom', ev => {
        const t = ev.transform;
        if (ev.sourceEvent) this.autoFit = false; // the user zoomed or panned: a resize keeps their view
        this.viewport.attr('transform', t.toString());
        this.state.transform = { x: t.x, y: t.y, k: t.k };
        this.saveSoon();
      });
    this.svg.call(this.zoomer).on('dblclick.zoom', null);

    // Refit when the panel changes size (a split, a narrower group), unless the user has moved the view.
    let lastSize = '';
    new ResizeObserver(() => {
      const size = `${svgEl.clientWidth}x${svgEl.clientHeight}`;
      if (size !== lastSize && this.autoFit) this.fit();
      lastSize = size;
    }).observe(graphWrap);
    svgEl.addEventListener('click', e => this.onClick(e));
    svgEl.addEventListener('keydown', e => this.onKey(e));
    svgEl.addEventListener('focusin', e => {
      const g = (e.target as Element).closest?.('g.node');
      // Keyboard focus (Tab) reveals the node; a mouse focus must not move the graph under the pointer.
      if (g) this.moveFocus(g.getAttribute('data-id')!, false, g.matches(':focus-visible'));
    });
  }

  /** Draws a new graph (or the same one re-sent after a reload, keeping zoom and expansions). */
  setGraph(graph: RetainerGraph): void {
    const problem = validateRetainerGraph(graph);
    if (problem) {
      const message = `Cannot draw the retainers: ${problem}. Run "Show retainers" again; if it repeats, report it with the log.`;
      showError(message);
      this.host.post({ type: 'error', panel: 'retainers', message });
      return;
    }
    showError(undefined);
    const key = `${graph.targetType}\n${graph.source ?? ''}\n${graph.nodes.length}\n${graph.paths.length}`;
    const ids = new Set(graph.nodes.map(n => n.id));
    if (key !== this.state.graphKey) {
      this.state = { graphKey: key, collapsed: [], pages: {} };
    } else {
      this.state.collapsed = this.state.collapsed.filter(id => ids.has(id));
      if (this.state.selected && !ids.has(this.state.selected) && !this.state.selected.startsWith('more:')) delete this.state.selected;
    }
    this.graph = graph;
    this.highlighted = undefined;
    this.render();
    const t = this.state.transform;
    if (t) this.svg.call(this.zoomer.transform, zoomIdentity.translate(t.x, t.y).scale(t.k));
    else this.fit();
    this.showDetails();
  }

  setStatus(text: string, busy = false, error = false): void {
    this.status.textContent = text;
    this.status.classList.toggle('busy', busy);
    this.status.classList.toggle('error', error);
  }

  /** Selects a node by id, focuses it and pans it into view. Unknown ids are ignored. */
  selectNode(id: string, opts: { openSource?: boolean; focus?: boolean } = {}): void {
    if (this.layout && !this.layout.byId.has(id)) {
      // Folded or collapsed away: open what hides it (the first path through it), then select.
      const path = this.graph?.paths.find(p => p.nodeIds.includes(id));
      if (path) this.unfold(path);
    }
    const n = this.layout?.byId.get(id);
    if (!n) return;
    this.state.selected = id;
    this.gNodes.selectAll<SVGGElement, LaidNode>('g.node').classed('selected', d => d.id === id).attr('aria-pressed', d => String(d.id === id));
    this.moveFocus(id, opts.focus ?? true);
    this.showDetails();
    this.saveSoon();
    if (n.node) {
      this.host.post({ type: 'retainers/nodeSelected', nodeId: id });
      if (opts.openSource && n.node.source) this.host.post({ type: 'retainers/openSource', nodeId: id, location: n.node.source });
    }
  }

  private render(): void {
    const graph = this.graph!;
    const layout = layoutRetainers(graph, { collapsed: this.state.collapsed, pages: this.state.pages }, this.opts);
    this.layout = layout;
    this.title.textContent = '';
    this.title.append('Retainers of ', h('code', {}, graph.targetType));
    const sampled = graph.sampledCount !== undefined && graph.sampledCount < graph.instanceCount ? ` (paths from a sample of ${formatCount(graph.sampledCount)})` : '';
    const drawn = layout.stats.shownNodes < layout.stats.totalNodes ? ` · showing ${formatCount(layout.stats.shownNodes)} of ${formatCount(layout.stats.totalNodes)} nodes` : '';
    this.summary.textContent = `${plural(graph.instanceCount, 'instance')}${sampled} · ${plural(graph.paths.length, 'path')}${drawn}${graph.source ? ' · ' + graph.source : ''}`;
    this.empty.textContent = graph.paths.length === 0
      ? `No retainer path found for ${graph.targetType}: its instances are unreachable (garbage awaiting collection) or held only through weak references.`
      : '';
    this.empty.hidden = graph.paths.length > 0;

    this.morePaths.hidden = layout.stats.hiddenPaths === 0;
    this.morePaths.textContent = `Show more (${plural(layout.stats.hiddenPaths, 'path')} folded)`;

    this.drawEdges(layout.edges);
    this.drawNodes(layout.nodes);
    this.drawPathList();

    if (this.state.selected && !layout.byId.has(this.state.selected)) delete this.state.selected;
    const first = layout.layers[0]?.[0];
    const want = this.focusId && layout.byId.has(this.focusId) ? this.focusId : this.state.selected ?? first;
    if (want) this.moveFocus(want, false);
    this.saveSoon();
  }

  private drawEdges(edges: LaidEdge[]): void {
    const width = (n: number) => Math.min(6, 1 + Math.log10(1 + n)).toFixed(2);
    this.gEdges.selectAll<SVGGElement, LaidEdge>('g.edge')
      .data(edges, d => d.id)
      .join(enter => {
        const g = enter.append('g');
        g.append('path').attr('class', 'link').attr('marker-end', 'url(#arrow)');
        g.append('text').attr('class', 'edge-label').attr('text-anchor', 'middle');
        g.append('title');
        return g;
      })
      .attr('class', d => `edge edge-${d.edgeType}`)
      .attr('data-from', d => d.from)
      .attr('data-to', d => d.to)
      .attr('data-label', d => d.label)
      .attr('data-edge-type', d => d.edgeType)
      .attr('data-instances', d => d.instances)
      .each(function (d) {
        const g = select(this);
        g.select('path').attr('d', d.d).attr('stroke-width', width(d.instances));
        g.select('text').attr('x', d.labelX).attr('y', d.labelY - 5).text(truncateMiddle(d.label, 26));
        g.select('title').text(`${d.label || '(more)'}: ${plural(d.instances, 'instance')} through this reference (${plural(d.paths, 'path')})`);
      });
  }

  private drawNodes(nodes: LaidNode[]): void {
    const focusId = this.focusId, selected = this.state.selected, succs = this.layout!.succs;
    this.gNodes.selectAll<SVGGElement, LaidNode>('g.node')
      .data(nodes, d => d.id)
      .join(enter => {
        const g = enter.append('g').attr('role', 'button');
        g.append('rect').attr('class', 'box').attr('rx', 4);
        g.append('text').attr('class', 'type').attr('x', 8).attr('y', 17);
        g.append('text').attr('class', 'label').attr('x', 8).attr('y', 35);
        g.append('text').attr('class', 'size').attr('y', 17).attr('text-anchor', 'end');
        g.append('text').attr('class', 'count').attr('y', 27);
        g.append('title');
        return g;
      })
      .attr('class', d => nodeClass(d, selected))
      .attr('transform', d => `translate(${d.x},${d.y})`)
      .attr('data-id', d => d.id)
      .attr('data-type', d => d.node?.type ?? 'more')
      .attr('data-label', d => d.node?.label ?? '')
      .attr('data-root-kind', d => d.node?.rootKind ?? null)
      .attr('data-instances', d => d.kind === 'more' ? d.more!.instances : d.instances)
      .attr('tabindex', d => (d.id === focusId ? 0 : -1))
      .attr('aria-pressed', d => String(d.id === selected))
      .attr('aria-label', d => ariaLabel(d))
      .each(function (d) {
        const g = select(this);
        g.select('rect').attr('width', d.w).attr('height', d.h);
        const n = d.node;
        if (n) {
          g.select('text.type').text(truncateMiddle(typeLine(n), 22));
          g.select('text.label').text(truncateMiddle(n.label, 30));
          g.select('text.size').attr('x', d.w - 8).text(formatBytes(n.retainedSize || n.selfSize));
        } else {
          g.select('text.type').text(`+${plural(d.more!.paths, 'more path', 'more paths')}`);
          g.select('text.label').text(`${plural(d.more!.instances, 'instance')} · Enter to show`);
          g.select('text.size').text('');
        }
        const badge = d.instances > 0 ? `×${formatCount(d.instances)}` : d.hiddenBehind ? `+${formatCount(d.hiddenBehind.paths)} hidden` : '';
        g.select('text.count').attr('x', d.w + 6).text(badge);
        g.select('title').text(ariaLabel(d));
        // Collapse/expand handle for nodes with onward paths (or hidden ones).
        const hasOnward = d.kind === 'node' && (d.hiddenBehind !== undefined || succs.get(d.id)!.length > 0);
        const toggle = g.selectAll<SVGGElement, null>('g.toggle').data(hasOnward ? [null] : []);
        const t = toggle.join(enter => {
          const tg = enter.append('g').attr('class', 'toggle').attr('aria-hidden', 'true');
          tg.append('circle').attr('r', 7);
          tg.append('text').attr('text-anchor', 'middle').attr('y', 4);
          return tg;
        });
        t.attr('transform', `translate(${d.w},${d.h / 2})`).select('text').text(d.hiddenBehind ? '+' : '−');
      });
  }

  private drawPathList(): void {
    const graph = this.graph!, layout = this.layout!;
    this.pathList.replaceChildren();
    const sorted = [...graph.paths].sort((a, b) => b.instanceCount - a.instanceCount);
    const nodeById = new Map(graph.nodes.map(n => [n.id, n]));
    for (const p of sorted.slice(0, PATH_LIST_MAX)) {
      const status = layout.pathStatus.get(p.id) ?? 'hidden';
      const text = p.exampleLabels[0] ?? p.nodeIds.map(id => nodeById.get(id)?.label ?? id).join(' → ');
      const button = h('button', { type: 'button', class: 'path-button', 'data-path-id': p.id, 'aria-pressed': String(this.highlighted === p.id) },
        h('code', {}, truncateMiddle(text, 60)),
        h('span', { class: 'path-count' }, p.instanceCount === 1 ? '1 instance has this path' : `${formatCount(p.instanceCount)} instances share this path`),
        status === 'full' ? undefined : h('span', { class: 'path-note' }, status === 'cut' ? ' (partly drawn)' : ' (not drawn)'));
      button.title = p.exampleLabels.join('\n') || text;
      button.addEventListener('click', () => this.highlightPath(p.id));
      this.pathList.append(h('li', { class: `path ${status}`, 'data-path-id': p.id, 'data-instances': String(p.instanceCount) }, button));
    }
    if (sorted.length > PATH_LIST_MAX) this.pathList.append(h('li', { class: 'path-more' }, `and ${plural(sorted.length - PATH_LIST_MAX, 'smaller path')}`));
  }

  /** Marks a path's nodes and edges; a path not (fully) drawn gets its groups expanded first. */
  private highlightPath(pathId: string): void {
    const graph = this.graph!;
    const path = graph.paths.find(p => p.id === pathId);
    if (!path) return;
    this.unfold(path);
    this.highlighted = this.highlighted === pathId ? undefined : pathId;
    const on = new Set(this.highlighted ? path.nodeIds : []);
    this.gNodes.selectAll<SVGGElement, LaidNode>('g.node').classed('on-path', d => on.has(d.id));
    this.gEdges.selectAll<SVGGElement, LaidEdge>('g.edge').classed('on-path', d => on.has(d.from) && on.has(d.to) && path.nodeIds.indexOf(d.to) === path.nodeIds.indexOf(d.from) + 1);
    for (const b of this.pathList.querySelectorAll('button.path-button')) b.setAttribute('aria-pressed', String(b.getAttribute('data-path-id') === this.highlighted));
    const last = [...path.nodeIds].reverse().find(id => this.layout!.byId.has(id));
    if (this.highlighted && last) this.selectNode(last, { focus: false });
  }

  /** Expands collapsed nodes and "+N more" groups until `path` is drawn in full (a few pages at most). */
  private unfold(path: RetainerGraph['paths'][number]): void {
    for (let round = 0; round < 20 && this.layout!.pathStatus.get(path.id) !== 'full'; round++) {
      this.state.collapsed = this.state.collapsed.filter(id => !path.nodeIds.includes(id));
      if (this.layout!.pathStatus.get(path.id) === 'hidden') this.state.pages[MORE_PATHS_ID] = (this.state.pages[MORE_PATHS_ID] ?? 0) + 1;
      for (const id of path.nodeIds) if (this.layout!.byId.has(`more:${id}`)) this.state.pages[`more:${id}`] = (this.state.pages[`more:${id}`] ?? 0) + 1;
      this.render();
    }
  }

  private showDetails(): void {
    const d = this.state.selected ? this.layout?.byId.get(this.state.selected) : undefined;
    this.details.replaceChildren();
    if (!d) {
      this.details.append(h('p', { class: 'hint' }, 'Select a node (click, or Tab then arrow keys and Enter) to see its sizes and dominator. Nodes with a source open it.'));
      return;
    }
    if (d.kind === 'more') {
      const button = h('button', { type: 'button', id: 'expand-more' }, 'Show more');
      button.addEventListener('click', () => this.toggle(d.id));
      this.details.append(h('h2', {}, 'Not drawn'), h('p', {}, `${plural(d.more!.paths, 'path')} holding ${plural(d.more!.instances, 'instance')} are folded here to keep the graph readable.`), button);
      return;
    }
    const n = d.node!;
    const rows: [string, Node | string][] = [['Type', n.type]];
    if (n.rootKind) rows.push(['Root', ROOT_NAMES[n.rootKind]]);
    if (n.isTarget) rows.push(['Target', `an instance of ${this.graph!.targetType}`]);
    rows.push(['Self size', formatBytes(n.selfSize)], ['Retained size', formatBytes(n.retainedSize)]);
    if (d.instances > 0) rows.push(['Instances', `${formatCount(d.instances)} share the path ending here`]);
    rows.push(['Paths through', formatCount(d.paths)]);
    if (n.dominatorId !== undefined) rows.push(['Dominator', this.dominatorLink(n)]);
    if (n.source) {
      const open = h('button', { type: 'button', id: 'open-source', class: 'link' }, `${basename(n.source.file)}:${n.source.line}`);
      open.title = n.source.file;
      open.addEventListener('click', () => this.host.post({ type: 'retainers/openSource', nodeId: n.id, location: n.source! }));
      rows.push(['Source', open]);
    }
    const dl = h('dl');
    for (const [k, v] of rows) dl.append(h('dt', {}, k), h('dd', {}, v));
    this.details.append(h('h2', {}, h('code', {}, n.label)), dl);
    if (d.hiddenBehind || this.layout!.succs.get(d.id)!.length > 0) {
      const collapsed = this.state.collapsed.includes(d.id);
      const b = h('button', { type: 'button', id: 'toggle-node' }, collapsed ? `Expand (${plural(d.hiddenBehind?.paths ?? 0, 'path')} hidden)` : 'Collapse onward paths');
      b.addEventListener('click', () => this.toggle(d.id));
      this.details.append(b);
    }
  }

  private dominatorLink(n: RetainerNode): Node | string {
    const dom = this.graph!.nodes.find(m => m.id === n.dominatorId);
    const text = dom ? `${dom.label} (${dom.type})` : n.dominatorLabel ?? `node ${n.dominatorId}`;
    if (!dom || !this.layout!.byId.has(dom.id)) return text;
    const b = h('button', { type: 'button', class: 'link', id: 'dominator' }, text);
    b.addEventListener('click', () => this.selectNode(dom.id));
    return b;
  }

  /** Collapses/expands a node's onward paths, or shows one more page of a "+N more" group. */
  private toggle(id: string): void {
    let expanded: boolean;
    if (id.startsWith('more:')) {
      this.state.pages[id] = (this.state.pages[id] ?? 0) + 1;
      expanded = true;
      // Keep the focus near: on the group's parent (or the first root for the global group).
      const parent = this.layout?.byId.get(id)?.more?.parentId;
      this.focusId = parent ?? this.layout?.layers[0]?.[0];
      if (this.state.selected === id) delete this.state.selected;
    } else {
      const i = this.state.collapsed.indexOf(id);
      expanded = i >= 0;
      if (expanded) this.state.collapsed.splice(i, 1); else this.state.collapsed.push(id);
    }
    this.host.post({ type: 'retainers/toggle', id, expanded });
    this.render();
    this.showDetails();
    if (this.focusId) this.moveFocus(this.focusId, true);
  }

  private onClick(e: MouseEvent): void {
    const target = e.target as Element;
    const toggle = target.closest('g.toggle');
    const g = target.closest('g.node');
    if (!g) return;
    const id = g.getAttribute('data-id')!;
    if (toggle || id.startsWith('more:')) { this.toggle(id); return; }
    this.selectNode(id, { openSource: true });
  }

  private onKey(e: KeyboardEvent): void {
    const layout = this.layout;
    const g = (e.target as Element).closest?.('g.node');
    if (!layout || !g) return;
    const id = g.getAttribute('data-id')!;
    const n = layout.byId.get(id);
    if (!n) return;
    const nearest = (ids: string[]) => ids.map(i => layout.byId.get(i)!).sort((a, b) => Math.abs(a.y - n.y) - Math.abs(b.y - n.y))[0]?.id;
    let next: string | undefined;
    switch (e.key) {
      case 'ArrowLeft': next = nearest(layout.preds.get(id)!); break;
      case 'ArrowRight': next = nearest(layout.succs.get(id)!); break;
      case 'ArrowUp': case 'ArrowDown': {
        const layer = layout.layers[n.layer];
        next = layer[layer.indexOf(id) + (e.key === 'ArrowUp' ? -1 : 1)];
        break;
      }
      case 'Home': next = layout.layers[0]?.[0]; break;
      case 'End': { const last = layout.layers[layout.layers.length - 1]; next = last?.[last.length - 1]; break; }
      case 'Enter':
        if (n.kind === 'more') this.toggle(id); else this.selectNode(id, { openSource: true });
        break;
      case ' ':
        if (n.kind === 'more') this.toggle(id); else this.selectNode(id);
        break;
      case '-': case '+': case '=': {
        const isCollapsed = this.state.collapsed.includes(id);
        if (n.kind === 'node' && (e.key === '-') !== isCollapsed) this.toggle(id);
        break;
      }
      case 'Escape':
        delete this.state.selected;
        this.gNodes.selectAll('g.node').classed('selected', false).attr('aria-pressed', 'false');
        this.showDetails();
        break;
      default: return;
    }
    e.preventDefault();
    if (next) this.moveFocus(next, true);
  }

  /** Roving tab stop: exactly one node has tabindex 0; focusing pans it into view. */
  private moveFocus(id: string, focus: boolean, reveal = focus): void {
    const prev = this.focusId;
    this.focusId = id;
    const nodes = this.gNodes.node()!;
    if (prev && prev !== id) nodes.querySelector(`g.node[data-id="${cssEscape(prev)}"]`)?.setAttribute('tabindex', '-1');
    const el = nodes.querySelector<SVGGElement>(`g.node[data-id="${cssEscape(id)}"]`);
    if (!el) return;
    el.setAttribute('tabindex', '0');
    if (focus && document.activeElement !== el) el.focus({ preventScroll: true });
    if (reveal) this.panInto(id);
  }

  private panInto(id: string): void {
    const n = this.layout?.byId.get(id);
    const svgEl = this.svg.node()!;
    if (!n) return;
    const t = this.state.transform ?? { x: 0, y: 0, k: 1 };
    const W = svgEl.clientWidth, H = svgEl.clientHeight;
    const x0 = n.x * t.k + t.x, y0 = n.y * t.k + t.y, x1 = (n.x + n.w) * t.k + t.x, y1 = (n.y + n.h) * t.k + t.y;
    if (x0 >= 0 && y0 >= 0 && x1 <= W && y1 <= H) return;
    this.svg.call(this.zoomer.translateTo, n.x + n.w / 2, n.y + n.h / 2);
  }

  /**
   * Whole graph in view at a readable scale: never below MIN_SCALE (node text stays ≥ ~10 px), up to
   * MAX_SCALE when a small graph leaves room; when it does not fit, the roots (left) stay in view.
   */
  fit(): void {
    const layout = this.layout, svgEl = this.svg.node()!;
    if (!layout) return;
    const W = svgEl.clientWidth || 800, H = svgEl.clientHeight || 600, pad = 24;
    const whole = Math.min((W - 2 * pad) / Math.max(1, layout.width + 40), (H - 2 * pad) / Math.max(1, layout.height));
    // A graph that fits at a slightly smaller scale is drawn whole: in a panel beside the editor the
    // details pane left ~430 px and the target (the type the user asked about, on the right) was cut off.
    const k = whole >= FIT_FLOOR && whole < MIN_SCALE ? whole : Math.max(MIN_SCALE, Math.min(MAX_SCALE, whole));
    const x = layout.width * k + 2 * pad < W ? (W - layout.width * k) / 2 : pad;
    const y = layout.height * k + 2 * pad < H ? (H - layout.height * k) / 2 : pad;
    this.autoFit = true;
    this.svg.call(this.zoomer.transform, zoomIdentity.translate(x, y).scale(k));
  }

  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private saveSoon(): void {
    if (this.saveTimer !== undefined) return;
    this.saveTimer = setTimeout(() => { this.saveTimer = undefined; this.host.setState(this.state); }, 100);
  }
}

function nodeClass(d: LaidNode, selected: string | undefined): string {
  const c = ['node'];
  if (d.id === selected) c.push('selected');
  if (d.kind === 'more') c.push('more');
  if (d.node?.rootKind) c.push('root', `root-${d.node.rootKind}`);
  if (d.node?.isTarget) c.push('target');
  if (d.node?.source) c.push('has-source');
  if (d.hiddenBehind) c.push('collapsed');
  return c.join(' ');
}

function ariaLabel(d: LaidNode): string {
  if (d.kind === 'more') return `${plural(d.more!.paths, 'more path')} with ${plural(d.more!.instances, 'instance')} not drawn; press Enter to show them`;
  const n = d.node!;
  const parts = [n.rootKind ? `${ROOT_NAMES[n.rootKind]} ${n.type} ${n.label}` : `${n.type} ${n.label}`,
    `retained ${formatBytes(n.retainedSize)}, self ${formatBytes(n.selfSize)}`];
  if (d.instances > 0) parts.push(`${plural(d.instances, 'instance')} share this path`);
  if (d.hiddenBehind) parts.push(`collapsed, ${plural(d.hiddenBehind.paths, 'path')} hidden`);
  if (n.source) parts.push(`source ${basename(n.source.file)} line ${n.source.line}`);
  return parts.join('; ');
}

function basename(file: string): string {
  return file.slice(Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')) + 1);
}

function cssEscape(s: string): string {
  return typeof CSS !== 'undefined' && CSS.escape ? CSS.escape(s) : s.replace(/["\\]/g, '\\$&');
}
