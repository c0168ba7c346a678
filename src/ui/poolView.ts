// The Pool Memory view: a prefork main beside its pool children, sampled together the way
// `workerlens heap --pid MAIN` does (src/cdp/poolSampler.ts + poolChildren.ts: the same code), so
// the child where the leak is gets named, with an action to attach it. Runs when a main process is
// attached (and on "Sample Again"); connections are its own and closed after sampling.
import * as vscode from 'vscode';
import { connectWorker } from '../cdp/workerConnection';
import { workerLabel } from '../cdp/discovery';
import { poolChildren } from '../cdp/poolChildren';
import { samplePool, PoolSampleResult } from '../cdp/poolSampler';
import type { ProcessResult, ProcessTarget } from '../cdp/processSampler';
import type { WorkerRow } from '../model/workerList';
import { leakingChildren } from '../model/memoryVerdict';
import { memoryChange, MemoryChange, partLines, poolDescription, poolState, samplesText, signedBytes } from '../model/memoryGrowth';
import { formatCount } from '../common/format';

// 30 s: the growth test needs most intervals to rise and the growth to be material (bytes and count)
const SAMPLES = 15;
const INTERVAL_MS = 2000;

export type PoolNode =
  | { kind: 'proc'; id: string; p: ProcessResult; change: MemoryChange | null; leaking: boolean; rank: number }
  | { kind: 'bare'; id: string; pid: number }
  | { kind: 'line'; id: string; text: string; icon: string; tooltip?: string };

export class PoolView implements vscode.TreeDataProvider<PoolNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<PoolNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private view: vscode.TreeView<PoolNode> | undefined;
  private main: WorkerRow | undefined;
  private result: PoolSampleResult | null = null;
  private bare: number[] = [];
  private nodes: PoolNode[] = [];
  private running: AbortController | undefined;
  private finishedAt = 0;

  constructor(private readonly log: vscode.LogOutputChannel, private readonly attachChild: (pid: number) => Promise<void>) {}

  attachView(view: vscode.TreeView<PoolNode>): void { this.view = view; }

  get mainPid(): number | undefined { return this.main?.pid; }
  get lastResult(): PoolSampleResult | null { return this.result; }

  /** Samples the main and its agent-bearing children side by side; resolves when done (or replaced). */
  async compare(main: WorkerRow): Promise<PoolSampleResult | null> {
    this.running?.abort();
    const ac = new AbortController();
    this.running = ac;
    this.main = main;
    this.result = null;
    this.nodes = [];
    this.changed.fire(undefined);
    const label = `Celery main process (pid ${main.pid})`;
    this.setMessage(`${label}: finding its pool children…`);
    const notes: string[] = [];
    const targets: ProcessTarget[] = [];
    const sampling = (done: number, total: number) => `Sampling ${label} and ${targets.length - 1} pool ${targets.length === 2 ? 'child' : 'children'} side by side: ${done + 1}/${total} (every ${INTERVAL_MS / 1000} s)…`;
    try {
      const conn = await connectWorker({ pid: main.pid, kind: 'python', discovery: main.discovery }, {
        reconnect: false, signal: ac.signal,
        injection: { allowed: false, refusedHint: 'attach the main process first' }, activation: { allowed: false },
      });
      targets.push({ conn, label: conn.info ? workerLabel(conn.info) : label });
      const bare: number[] = [];
      targets.push(...await poolChildren(main.pid, notes, bare));
      this.bare = bare;
      const r = await samplePool(targets, {
        samples: SAMPLES, intervalMs: INTERVAL_MS, top: 3, trim: false, paths: false, signal: ac.signal,
        progress: (_m, done, total) => { if (done < 2) this.setMessage(sampling(done, total)); },
        partial: (so, done, total) => { if (!ac.signal.aborted) { this.result = so; this.build(`${sampling(done - 1, total)} So far: `); } },
      });
      if (ac.signal.aborted) return null;
      r.notes.unshift(...notes);
      this.result = r;
      this.finishedAt = Date.now();
      this.build('');
      this.log.info(`Pool Memory of ${label}: ${r.summary ?? 'no pool child with an agent'}`);
      void this.offerLeakingChild(r);
      return r;
    } catch (e) {
      if (ac.signal.aborted) return null;
      const msg = (e as Error).message;
      this.log.warn(`Pool Memory of ${label}: ${msg}`);
      this.setMessage(`${label}: could not sample: ${msg}`);
      return null;
    } finally {
      for (const t of targets) t.conn.dispose();
      if (this.running === ac) this.running = undefined;
    }
  }

  clear(pid: number): void {
    if (this.main?.pid !== pid) return;
    this.running?.abort();
    this.main = undefined; this.result = null; this.nodes = []; this.bare = [];
    this.setMessage(undefined);
    this.changed.fire(undefined);
  }

  async resample(): Promise<void> {
    if (this.main) await this.compare(this.main);
    else void vscode.window.showInformationMessage('Attach a Celery main process (prefork) first: Pool Memory compares its pool children.');
  }

  private setMessage(m: string | undefined): void { if (this.view) this.view.message = m; }

  private build(prefix: string): void {
    const r = this.result;
    if (!r) return;
    const leaking = new Set(leakingChildren(r.processes.map(p => ({ label: p.label, pid: p.pid ?? 0, role: p.role ?? 'process', verdict: p.verdict }))).map(p => p.pid));
    const changes = r.processes.map(p => memoryChange(p.memory));
    // the one that grows most first among the leaking, then the rest in pool order
    const order = r.processes.map((p, i) => ({ p, change: changes[i], leaking: leaking.has(p.pid ?? -1), i }));
    const growth = (x: { change: MemoryChange | null }) => x.change?.rssDelta ?? 0;
    const ranked = order.filter(x => x.leaking).sort((a, b) => growth(b) - growth(a));
    this.nodes = order.map(x => ({ kind: 'proc', id: `pool-${x.p.pid}`, p: x.p, change: x.change, leaking: x.leaking, rank: ranked.indexOf(x) }));
    for (const pid of this.bare) this.nodes.push({ kind: 'bare', id: `pool-bare-${pid}`, pid });
    r.notes.forEach((n, i) => this.nodes.push({ kind: 'line', id: `pool-note-${i}`, text: n, icon: 'info' }));
    const c0 = changes[0];
    const when = prefix ? '' : `; ${new Date(this.finishedAt).toLocaleTimeString()}`;
    this.setMessage(`${prefix}${r.summary ?? 'No pool child runs an agent: nothing to compare.'} (${samplesText(c0)} of each process's memory breakdown and object counts, as workerlens heap --pid ${this.main?.pid} does${when})`);
    this.changed.fire(undefined);
  }

  private async offerLeakingChild(r: PoolSampleResult): Promise<void> {
    const top = this.nodes.find(n => n.kind === 'proc' && n.rank === 0);
    if (!top || top.kind !== 'proc' || top.p.pid === null) return;
    const action = `Attach ${top.p.label}`;
    const choice = await vscode.window.showInformationMessage(r.summary ?? `${top.p.label} grows`, action);
    if (choice === action) await this.attachChild(top.p.pid);
  }

  getTreeItem(n: PoolNode): vscode.TreeItem {
    if (n.kind === 'line') {
      const item = new vscode.TreeItem(n.text, vscode.TreeItemCollapsibleState.None);
      item.id = n.id; item.iconPath = new vscode.ThemeIcon(n.icon); item.tooltip = n.tooltip ?? n.text;
      return item;
    }
    if (n.kind === 'bare') {
      const item = new vscode.TreeItem(`pool child pid ${n.pid}`, vscode.TreeItemCollapsibleState.None);
      item.id = n.id; item.description = 'no agent: not compared (Attach injects one)';
      item.iconPath = new vscode.ThemeIcon('circle-slash');
      item.contextValue = 'poolChild.attach';
      item.tooltip = `pid ${n.pid} runs no Worker Lens agent, so it was not sampled. Attach injects one (ptrace); or start the worker with --workerlens so every child has its own.`;
      return item;
    }
    const { p, change } = n;
    const state = poolState(p.verdict);
    const item = new vscode.TreeItem(`${p.label}`, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = n.id;
    item.description = poolDescription(change, p.verdict) + (n.rank === 0 ? ' · the leak is here' : '');
    item.iconPath = new vscode.ThemeIcon(state === 'grows' ? 'arrow-up' : state === 'no steady growth' ? 'check' : 'graph',
      state === 'grows' ? new vscode.ThemeColor('charts.red') : state === 'no steady growth' ? new vscode.ThemeColor('charts.green') : undefined);
    item.contextValue = p.role === 'child' ? 'poolChild.attach' : 'poolMain';
    item.tooltip = `${p.label}: ${p.verdict.headline}\nNext: ${p.verdict.next}\n\n${samplesText(change)} (Python.getMemoryBreakdown with the untracked walk, counts from gc.get_objects)`;
    item.accessibilityInformation = { label: `${p.label}: ${item.description as string}` };
    return item;
  }

  getChildren(n?: PoolNode): PoolNode[] {
    if (!n) return this.nodes;
    if (n.kind !== 'proc') return [];
    const { p, change } = n;
    const out: PoolNode[] = [{ kind: 'line', id: `${n.id}-verdict`, text: p.verdict.headline, icon: poolState(p.verdict) === 'grows' ? 'warning' : 'info', tooltip: `${p.verdict.headline}\nNext: ${p.verdict.next}` }];
    if (poolState(p.verdict) === 'grows') out.push({ kind: 'line', id: `${n.id}-next`, text: `Next: ${p.verdict.next}`, icon: 'lightbulb' });
    partLines(change).forEach((t, i) => out.push({ kind: 'line', id: `${n.id}-part-${i}`, text: t, icon: t.startsWith('n/a') ? 'circle-slash' : 'symbol-number' }));
    for (const c of p.containers.slice(0, 2)) out.push({ kind: 'line', id: `${n.id}-c-${c.key}`, text: `${c.name} (${c.type}) +${formatCount(c.lengthDelta)} items, ${signedBytes(c.bytesDelta)}`, icon: 'arrow-up' });
    for (const s of p.report.suspects.filter(x => (x.delta ?? 0) > 0).slice(0, 3)) out.push({ kind: 'line', id: `${n.id}-t-${s.type}`, text: `${s.type} +${formatCount(s.delta ?? 0)} objects${s.bytesDelta ? `, ${signedBytes(s.bytesDelta)}` : ''}`, icon: 'symbol-class' });
    p.notes.forEach((t, i) => out.push({ kind: 'line', id: `${n.id}-note-${i}`, text: t, icon: 'info' }));
    return out;
  }

  dispose(): void {
    this.running?.abort();
    this.changed.dispose();
  }
}
