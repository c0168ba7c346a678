// The Heap view's page: the memory header (RSS breakdown, verdict, Trim), a filter box and the
// table Type | Count | Δ | Shallow | Retained with sortable headers. Rows are kept by type key and
// updated in place (a refresh every few seconds at hundreds of types touches only changed cells).
// Narrow sidebars hide Count, then Retained (CSS container queries); the row's tooltip and
// accessible name still carry every figure. Right-click/Shift+F10 opens VS Code's own context menu
// (data-vscode-context); Enter or double-click runs Show Retainers.

import type { HeapRow, HeapSort, SortDirection } from '../model/heapTable';
import type { HeapToHostMessage, HeapViewState, MemoryNode } from '../protocol/heapView';
import { formatBytes, formatClock, formatCount, formatDelta } from '../common/format';
import { h } from './vscodeApi';

export interface HeapPageState { memoryOpen?: boolean; focusKey?: string }

interface RowEls { tr: HTMLTableRowElement; cells: HTMLTableCellElement[]; sig: string }

const COLUMNS: { sort: HeapSort; label: string; cls: string }[] = [
  { sort: 'type', label: 'Type', cls: 'col-type' },
  { sort: 'count', label: 'Count', cls: 'col-count num' },
  { sort: 'delta', label: 'Δ', cls: 'col-delta num' },
  { sort: 'size', label: 'Shallow', cls: 'col-size num' },
  { sort: 'retained', label: 'Retained', cls: 'col-retained num' },
];

export class HeapTableView {
  private state: HeapViewState | null = null;
  private readonly rows = new Map<string, RowEls>();
  private readonly status: HTMLElement;
  private readonly cost: HTMLElement;
  private readonly memory: HTMLElement;
  private readonly filter: HTMLInputElement;
  private readonly table: HTMLTableElement;
  private readonly body: HTMLTableSectionElement;
  private readonly heads: HTMLTableCellElement[] = [];
  private readonly empty: HTMLElement;
  private readonly welcome: HTMLElement;
  private readonly main: HTMLElement;
  private filterTimer: number | undefined;
  private memoryOpen: boolean;
  private focusKey: string | undefined;

  constructor(root: HTMLElement, private readonly post: (m: HeapToHostMessage) => void, private readonly page: { get(): Partial<HeapPageState> | undefined; set(s: HeapPageState): void }) {
    const saved = page.get() ?? {};
    this.memoryOpen = !!saved.memoryOpen;
    this.focusKey = saved.focusKey;
    const attach = h('button', { class: 'primary' }, 'Attach to worker');
    attach.addEventListener('click', () => post({ type: 'heap/command', command: 'attach' }));
    this.welcome = h('div', { class: 'welcome' },
      h('p', {}, 'Attach to a worker to see its live heap: object counts per type, change since baseline, growing types flagged, shallow and retained sizes.'), attach);
    this.memory = h('div', { class: 'memory', role: 'tree', 'aria-label': 'Memory of the worker' });
    this.filter = h('input', { type: 'search', class: 'filter', placeholder: 'Filter types (tasks.Pay, builtins.dict)', 'aria-label': 'Filter heap types', spellcheck: 'false' });
    this.filter.addEventListener('input', () => {
      window.clearTimeout(this.filterTimer);
      this.filterTimer = window.setTimeout(() => post({ type: 'heap/filter', text: this.filter.value }), 150);
    });
    this.filter.addEventListener('keydown', e => { if (e.key === 'ArrowDown') { e.preventDefault(); this.focusRow(0); } });
    this.status = h('div', { class: 'status-line', 'aria-live': 'polite' });
    this.cost = h('div', { class: 'cost-note' });
    const headRow = h('tr', { role: 'row' });
    for (const c of COLUMNS) {
      const th = h('th', { class: c.cls, scope: 'col', role: 'columnheader' });
      const b = h('button', { class: 'sort', 'data-sort': c.sort }, c.label);
      b.addEventListener('click', () => this.clickSort(c.sort));
      th.append(b);
      headRow.append(th);
      this.heads.push(th);
    }
    this.body = h('tbody', {});
    this.table = h('table', { class: 'heap', role: 'grid', 'aria-label': 'Live objects per type' }, h('thead', {}, headRow), this.body);
    this.body.addEventListener('keydown', e => this.onKey(e));
    this.body.addEventListener('dblclick', e => { const key = this.keyOf(e.target); if (key) post({ type: 'heap/showRetainers', key }); });
    this.body.addEventListener('focusin', e => { const key = this.keyOf(e.target); if (key) this.setFocusKey(key); });
    this.empty = h('div', { class: 'empty-note', role: 'status' });
    this.main = h('div', { class: 'heap-main' }, this.memory, h('div', { class: 'filter-row' }, this.filter), this.status, this.cost, h('div', { class: 'table-wrap' }, this.table, this.empty));
    root.append(this.welcome, this.main);
    this.render();
  }

  setState(s: HeapViewState): void {
    this.state = s;
    this.render();
  }

  private render(): void {
    const s = this.state;
    const has = !!s && s.hasSource;
    this.welcome.hidden = has;
    this.main.hidden = !has;
    if (!s || !has) return;
    if (document.activeElement !== this.filter && this.filter.value !== s.filter) this.filter.value = s.filter;
    this.status.textContent = s.status;
    this.status.title = s.statusTitle;
    this.cost.textContent = s.costNote;
    this.cost.title = s.costNote;
    this.cost.hidden = !s.costNote;
    this.renderHeads(s);
    this.renderMemory(s.memory);
    this.renderRows(s);
    this.empty.textContent = s.rows.length ? '' : s.total ? `No type matches “${s.filter}”.` : 'Waiting for the first count…';
    this.empty.hidden = s.rows.length > 0;
  }

  private renderHeads(s: HeapViewState): void {
    const tips: Record<HeapSort, string> = {
      type: 'Type (qualified with its module where two types share a name). Sort A→Z.',
      count: 'Live instances now.',
      delta: 'Change in instances since the baseline (Set Baseline; at first, the attach).',
      size: `Shallow size: the instances' own bytes, sys.getsizeof per object (its block, GC header and pre-header; not what it references). ${s.shallowHow}`,
      retained: s.runtime === 'node'
        ? 'Retained size: bytes freed if these instances went away (dominator tree of the last analysed snapshot). Take a snapshot or Show Retainers to compute it.'
        : 'Retained size: bytes freed if these instances went away, from the dominator tree of the last analysed snapshot (Show Retainers or Take Heap Snapshot) — the same figures as the Retainers panel.',
    };
    COLUMNS.forEach((c, i) => {
      const th = this.heads[i];
      const active = s.sort === c.sort;
      th.setAttribute('aria-sort', active ? (s.direction === 'asc' ? 'ascending' : 'descending') : 'none');
      const b = th.firstElementChild as HTMLButtonElement;
      b.textContent = `${c.label}${active ? (s.direction === 'asc' ? ' ▲' : ' ▼') : ''}`;
      b.title = tips[c.sort];
    });
  }

  private clickSort(sort: HeapSort): void {
    const s = this.state;
    if (!s) return;
    const natural: SortDirection = sort === 'type' ? 'asc' : 'desc';
    const direction: SortDirection = s.sort === sort ? (s.direction === 'asc' ? 'desc' : 'asc') : natural;
    this.post({ type: 'heap/sort', sort, direction });
  }

  private renderRows(s: HeapViewState): void {
    const seen = new Set<string>();
    let prev: HTMLTableRowElement | null = null;
    for (const r of s.rows) {
      seen.add(r.key);
      let el = this.rows.get(r.key);
      if (!el) { el = this.makeRow(r); this.rows.set(r.key, el); }
      this.updateRow(el, r);
      // move only rows that are out of place
      const want: ChildNode | null = prev ? prev.nextSibling : this.body.firstChild;
      if (want !== el.tr) this.body.insertBefore(el.tr, want);
      prev = el.tr;
    }
    for (const [key, el] of this.rows) if (!seen.has(key)) { el.tr.remove(); this.rows.delete(key); }
    // one row is the tab stop (roving tabindex)
    const focusEl = (this.focusKey && this.rows.get(this.focusKey)) || (s.rows.length ? this.rows.get(s.rows[0].key) : undefined);
    for (const el of this.rows.values()) el.tr.tabIndex = el === focusEl ? 0 : -1;
  }

  private makeRow(r: HeapRow): RowEls {
    const tr = h('tr', { role: 'row', 'data-key': r.key });
    const cells = COLUMNS.map(c => h('td', { class: c.cls, role: 'gridcell' }));
    tr.append(...cells);
    return { tr, cells, sig: '' };
  }

  private updateRow(el: RowEls, r: HeapRow): void {
    const ret = r.retained;
    const retained = ret.known ? formatBytes(ret.bytes) : '—';
    const shallow = `${r.sizeSampled ? '≈' : ''}${formatBytes(r.size)}`;
    const sig = `${r.label}|${r.count}|${r.delta}|${shallow}|${retained}|${r.growing}|${ret.known ? ret.at : ret.why}`;
    if (sig === el.sig) return;
    el.sig = sig;
    const [type, count, delta, size, ret2] = el.cells;
    type.textContent = r.label;
    type.title = `${r.module || 'builtins'}.${r.type}`;
    count.textContent = formatCount(r.count);
    delta.textContent = formatDelta(r.delta);
    size.textContent = shallow;
    size.title = r.sizeSampled
      ? `≈ ${formatBytes(r.size)}: ${formatCount(r.count)} × the mean sys.getsizeof of a sample of instances (variable-size type). Δ size ${signedBytes(r.sizeDelta)}.`
      : `${formatBytes(r.size)}: ${formatCount(r.count)} × ${formatBytes(r.count ? Math.round(r.size / r.count) : 0)} each, exact (sys.getsizeof). Δ size ${signedBytes(r.sizeDelta)}.`;
    ret2.textContent = retained;
    ret2.title = ret.known
      ? `${formatBytes(ret.bytes)} retained by the ${formatCount(ret.count)} instances in the snapshot of ${formatClock(ret.at)} (${ret.origin}; dominator tree, as in the Retainers panel).`
      : ret.why === 'ambiguous' ? 'The snapshot names types without their module, and two shown types share this name: no separate figure.'
        : ret.why === 'named-individually' ? `The snapshot of ${formatClock(ret.at ?? 0)} names each class object by itself (class Payload, …): no figure for all classes together. Show Retainers of a class's instances instead.`
        : ret.why === 'not-in-snapshot' ? `No instance of ${r.type} in the snapshot of ${formatClock(ret.at ?? 0)}: take a snapshot to compute.`
          : 'Unknown until a snapshot is analysed: take a snapshot (or Show Retainers) to compute.';
    el.tr.classList.toggle('growing', r.growing);
    delta.classList.toggle('up', r.delta > 0);
    el.tr.title = `${r.module || 'builtins'}.${r.type}${r.growing ? ' — growing' : ''}\nEnter or double-click: Show Retainers · right-click: more`;
    el.tr.setAttribute('aria-label', `${r.label}: ${formatCount(r.count)} instances, change ${formatDelta(r.delta)}, shallow ${shallow}, retained ${ret.known ? retained : 'unknown'}${r.growing ? ', growing' : ''}`);
    el.tr.setAttribute('data-vscode-context', JSON.stringify({ webviewSection: r.growing ? 'heapType.growing' : 'heapType', key: r.key, type: r.type, module: r.module, preventDefaultContextMenuItems: true }));
  }

  private memorySig = '';

  private renderMemory(m: MemoryNode | null, force = false): void {
    // rebuilt only when it changed: a refresh must not steal the focus from a memory line
    const sig = JSON.stringify(m) + String(this.memoryOpen);
    if (!force && sig === this.memorySig) return;
    this.memorySig = sig;
    this.memory.replaceChildren();
    this.memory.hidden = !m;
    if (!m) return;
    const open = this.memoryOpen && !!m.children?.length;
    const head = h('div', { class: `mem-row mem-root ${colorClass(m.color)}`, role: 'treeitem', tabindex: '0', 'aria-expanded': m.children?.length ? String(open) : undefined,
      'aria-label': `${m.label}${m.description ? `: ${m.description}` : ''}`, title: m.tooltip ?? '' },
    h('span', { class: 'twistie', 'aria-hidden': 'true' }, m.children?.length ? (open ? '▾' : '▸') : ''),
    h('span', { class: 'glyph', 'aria-hidden': 'true' }, glyph(m.icon)),
    h('span', { class: 'mem-label' }, m.label), h('span', { class: 'mem-desc' }, m.description ?? ''));
    const toggle = () => { this.memoryOpen = !open; this.save(); this.renderMemory(m, true); (this.memory.querySelector('.mem-root') as HTMLElement | null)?.focus(); };
    head.addEventListener('click', e => { if (!(e.target as HTMLElement).closest('button')) toggle(); });
    head.addEventListener('keydown', e => {
      if (e.key === 'Enter' || e.key === ' ' || (e.key === 'ArrowRight' && !open) || (e.key === 'ArrowLeft' && open)) { e.preventDefault(); toggle(); }
      if (e.key === 'ArrowDown') { e.preventDefault(); (open ? this.memory.querySelector<HTMLElement>('.mem-child') : this.filter)?.focus(); }
    });
    if (m.contextValue === 'heapMemory.trim') {
      const trim = h('button', { class: 'inline-action', 'aria-label': 'Trim Memory Now (malloc_trim)', title: 'Trim Memory Now (malloc_trim): return free memory malloc holds to the OS, and say how much came back' }, 'Trim');
      trim.addEventListener('click', () => this.post({ type: 'heap/command', command: 'trim' }));
      head.append(trim);
    }
    this.memory.append(head);
    if (!open) return;
    const group = h('div', { role: 'group' });
    for (const c of m.children ?? []) {
      const line = h('div', { class: `mem-row mem-child ${colorClass(c.color)}`, role: 'treeitem', tabindex: '-1', 'aria-label': `${c.label}${c.description ? `: ${c.description}` : ''}`, title: c.tooltip ?? '' },
        h('span', { class: 'glyph', 'aria-hidden': 'true' }, glyph(c.icon)), h('span', { class: 'mem-label' }, c.label), h('span', { class: 'mem-desc' }, c.description ?? ''));
      line.addEventListener('keydown', e => {
        const sib = (d: 'next' | 'prev') => (d === 'next' ? line.nextElementSibling : line.previousElementSibling) as HTMLElement | null;
        if (e.key === 'ArrowDown') { e.preventDefault(); (sib('next') ?? this.filter).focus(); }
        if (e.key === 'ArrowUp') { e.preventDefault(); (sib('prev') ?? head).focus(); }
        if (e.key === 'ArrowLeft') { e.preventDefault(); head.focus(); }
      });
      group.append(line);
    }
    this.memory.append(group);
  }

  private onKey(e: KeyboardEvent): void {
    const key = this.keyOf(e.target);
    if (!key || !this.state) return;
    const i = this.state.rows.findIndex(r => r.key === key);
    const move = (j: number) => { e.preventDefault(); this.focusRow(Math.max(0, Math.min(this.state!.rows.length - 1, j))); };
    switch (e.key) {
      case 'ArrowDown': move(i + 1); break;
      case 'ArrowUp': if (i === 0) { e.preventDefault(); this.filter.focus(); } else move(i - 1); break;
      case 'Home': move(0); break;
      case 'End': move(this.state.rows.length - 1); break;
      case 'PageDown': move(i + 10); break;
      case 'PageUp': move(i - 10); break;
      case 'Enter': e.preventDefault(); this.post({ type: 'heap/showRetainers', key }); break;
      default: break;
    }
  }

  private focusRow(i: number): void {
    const r = this.state?.rows[i];
    const el = r && this.rows.get(r.key);
    if (!el) return;
    for (const x of this.rows.values()) x.tr.tabIndex = -1;
    el.tr.tabIndex = 0;
    el.tr.focus();
    this.setFocusKey(r.key);
  }

  private setFocusKey(key: string): void { if (this.focusKey !== key) { this.focusKey = key; this.save(); } }
  private save(): void { this.page.set({ memoryOpen: this.memoryOpen, focusKey: this.focusKey }); }

  private keyOf(t: EventTarget | null): string | undefined {
    return (t instanceof Element ? t.closest('tr[data-key]') : null)?.getAttribute('data-key') ?? undefined;
  }
}

function signedBytes(n: number): string { return `${n > 0 ? '+' : n < 0 ? '−' : '±'}${formatBytes(Math.abs(n))}`; }

function glyph(icon: string | undefined): string {
  switch (icon) {
    case 'warning': return '⚠';
    case 'check': case 'pass': return '✓';
    case 'arrow-up': return '▲';
    case 'lightbulb': return '→';
    case 'info': return 'ℹ';
    case 'circle-large-outline': return '○';
    case 'circle-slash': return '⊘';
    default: return '•';
  }
}

function colorClass(color: string | undefined): string {
  return color ? `c-${color.replace(/\W/g, '-')}` : '';
}
