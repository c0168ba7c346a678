// The Fleet view: every Celery worker on the user's broker (through src/cdp/fleetHelper, the CLI's
// way too), grouped by host, ranked by memory growth, with a fleet-wide "task → memory per run"
// list. The broker URL lives in settings WITHOUT its password; the password in SecretStorage.
import * as vscode from 'vscode';
import { FleetError, FleetHelper } from '../cdp/fleetHelper';
import { checkBrokerUrl, redactBrokerUrl, splitBrokerUrl, withPassword } from '../common/brokerUrl';
import { formatBytes, plural } from '../common/format';
import type { FleetProcess } from '../protocol/fleet';
import { biggestParts } from '../model/memoryPartNames';
import { FLEET_HOW, fleetTaskTable, groupByHost, sparkline, workerGrowth, workerTrend, type FleetState, type FleetTaskRow, type FleetWorker } from '../model/fleet';

export type FleetNode = Node;
type Node =
  | { kind: 'message'; text: string; detail?: string; icon: string }
  | { kind: 'host'; host: string; workers: FleetWorker[] }
  | { kind: 'worker'; worker: FleetWorker }
  | { kind: 'process'; worker: FleetWorker; proc: FleetProcess }
  | { kind: 'tasks'; rows: FleetTaskRow[] }
  | { kind: 'task'; row: FleetTaskRow };

const SECRET_PREFIX = 'workerLens.fleet.password:';
const clock = (s: number) => new Date(s * 1000).toLocaleTimeString();
const signed = (n: number) => `${n >= 0 ? '+' : '−'}${formatBytes(Math.abs(n))}`;

export class FleetView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private state: (FleetState & { wallMs: number }) | null = null;
  private error: string | null = null;
  private running: AbortController | null = null;
  private timer: NodeJS.Timeout | undefined;
  private lastAt = 0;
  private helper: { key: string; helper: FleetHelper } | null = null;
  private refreshes = 0;
  private isAttached: (node: string, pid: number) => boolean = () => false;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly secrets: vscode.SecretStorage, private readonly agentDir: string, private readonly log: vscode.LogOutputChannel) {
    this.disposables.push(vscode.workspace.onDidChangeConfiguration(e => {
      // The tunnel command matters only at Attach: changing it does not re-ask the fleet.
      if (['brokerUrl', 'python', 'timeout', 'refreshSeconds'].some(k => e.affectsConfiguration(`workerLens.fleet.${k}`)) || e.affectsConfiguration('workerLens.python.path')) { this.state = null; this.error = null; void this.updateContext(); void this.refresh(); }
    }));
    void this.updateContext();
  }

  /** Refreshes every workerLens.fleet.refreshSeconds while the view is visible. */
  watch(view: vscode.TreeView<Node>): vscode.Disposable {
    const tick = () => {
      const every = Math.max(2, vscode.workspace.getConfiguration('workerLens.fleet').get<number>('refreshSeconds', 10)) * 1000;
      if (view.visible && Date.now() - this.lastAt >= every) void this.refresh();
    };
    const sub = view.onDidChangeVisibility(e => { if (e.visible) void this.refresh(); });
    this.timer = setInterval(tick, 1000);
    if (view.visible) void this.refresh();
    return new vscode.Disposable(() => { sub.dispose(); clearInterval(this.timer); });
  }

  private brokerSetting(): string {
    return (vscode.workspace.getConfiguration('workerLens.fleet').get<string>('brokerUrl') ?? '').trim();
  }

  private async updateContext(): Promise<void> {
    await vscode.commands.executeCommand('setContext', 'workerLens.fleet.hasBroker', this.brokerSetting() !== '');
  }

  /** The broker URL with its password from SecretStorage (a password left in settings still works, with a warning). */
  private async brokerUrl(): Promise<string | null> {
    const setting = this.brokerSetting();
    if (!setting) return null;
    const { url, password } = splitBrokerUrl(setting);
    if (password !== null) {
      this.log.warn(`workerLens.fleet.brokerUrl holds a password (${redactBrokerUrl(setting)}): run "Worker Lens: Connect to Broker…" to keep it in the secret store instead`);
      return setting;
    }
    const secret = await this.secrets.get(SECRET_PREFIX + url);
    return secret === undefined ? url : withPassword(url, secret);
  }

  /** "Connect to Broker…": asks for the URL, keeps the password in SecretStorage and the rest in settings. */
  async connect(given?: string): Promise<void> {
    const typed = given ?? await vscode.window.showInputBox({
      title: 'Worker Lens: the Celery broker of your workers',
      prompt: 'The password (if any) goes to VS Code\'s secret store; settings keep the URL without it.',
      placeHolder: 'redis://:password@host:6379/0  or  amqp://user:password@host//',
      value: this.brokerSetting(), ignoreFocusOut: true,
      validateInput: v => (v.trim() ? checkBrokerUrl(v) : 'a broker URL'),
    });
    if (!typed?.trim()) return;
    const { url, password } = splitBrokerUrl(typed.trim());
    if (password !== null) await this.secrets.store(SECRET_PREFIX + url, password);
    else await this.secrets.delete(SECRET_PREFIX + url);
    const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    await vscode.workspace.getConfiguration('workerLens.fleet').update('brokerUrl', url, target);
    this.log.info(`Fleet: broker set to ${redactBrokerUrl(typed.trim())}${password !== null ? ' (password in the secret store)' : ''}`);
    await this.updateContext();
    await this.refresh();
  }

  async disconnect(): Promise<void> {
    const setting = this.brokerSetting();
    if (setting) await this.secrets.delete(SECRET_PREFIX + splitBrokerUrl(setting).url);
    this.helper?.helper.dispose();
    this.helper = null;
    await vscode.workspace.getConfiguration('workerLens.fleet').update('brokerUrl', undefined, vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global);
    this.state = null; this.error = null;
    await this.updateContext();
    this.changed.fire(undefined);
  }

  /** One refresh; a refresh already in flight is not started twice (never blocks the extension host). */
  async refresh(): Promise<void> {
    if (this.running) return;
    // Claimed before the first await: an Attach's token refresh waits for this one, never overlaps it.
    const ac = this.running = new AbortController();
    let broker: string | null;
    try { broker = await this.brokerUrl(); } catch (e) { this.running = null; throw e; }
    if (!broker) { this.running = null; this.state = null; this.error = null; this.changed.fire(undefined); return; }
    this.lastAt = Date.now();
    const helper = this.helperFor(broker);
    // Between full refreshes (every 6th, which also finds new workers and late answers), stop
    // waiting once as many replies came as last time: saves Celery's wait for stragglers.
    const expect = this.refreshes++ % 6 !== 0 && this.state?.done?.replies ? this.state.done.replies : null;
    try {
      this.state = await helper.refresh({ expect }, ac.signal);
      this.error = null;
      this.log.debug(`Fleet: ${plural(this.state.workers.length, 'worker')} from ${redactBrokerUrl(broker)} in ${this.state.wallMs} ms`);
    } catch (e) {
      if (e instanceof FleetError && e.code === 'cancelled') return;
      this.error = (e as Error).message;
      this.refreshes = 0; // the next one is a full refresh
      this.log.warn(`Fleet: ${this.error}`);
    } finally {
      this.running = null;
      this.lastAt = Date.now();
    }
    this.changed.fire(undefined);
  }

  private helperFor(broker: string): FleetHelper {
    const config = vscode.workspace.getConfiguration('workerLens');
    const python = config.get<string>('fleet.python') || config.get<string>('python.path') || 'python3';
    const timeoutS = config.get<number>('fleet.timeout', 1);
    const key = JSON.stringify([broker, python, timeoutS]);
    if (this.helper?.key !== key) {
      this.helper?.helper.dispose();
      this.helper = { key, helper: new FleetHelper({ broker, python, agentDir: this.agentDir, timeoutS }) };
    }
    return this.helper.helper;
  }

  /**
   * One refresh that also asks for the agents' tokens, for Attach. Its answer goes to the caller
   * only: the view's state (and so its tooltips) never holds a token.
   */
  async fleetWithTokens(signal: AbortSignal): Promise<FleetState> {
    while (this.running) {
      if (signal.aborted) throw new FleetError('cancelled', 'cancelled');
      await new Promise(r => setTimeout(r, 100));
    }
    const ac = this.running = new AbortController();
    const stop = () => ac.abort();
    signal.addEventListener('abort', stop, { once: true });
    try {
      const broker = await this.brokerUrl();
      if (!broker) throw new FleetError('no-broker', 'no broker: run "Worker Lens: Connect to Broker…"');
      return await this.helperFor(broker).refresh({ attach: true }, ac.signal);
    } finally {
      signal.removeEventListener('abort', stop);
      this.running = null;
    }
  }

  /** Which fleet processes have a session (their rows offer Detach instead of Attach). */
  setAttached(isAttached: (node: string, pid: number) => boolean): void {
    this.isAttached = isAttached;
  }

  /** Redraws the rows (after an attach or a detach). */
  redraw(): void { this.changed.fire(undefined); }

  current(): FleetState | null { return this.state; }

  getChildren(node?: Node): Node[] {
    if (!node) {
      if (!this.brokerSetting()) return []; // the welcome view offers "Connect to Broker…"
      const out: Node[] = [];
      if (this.error) out.push({ kind: 'message', text: this.error, detail: 'Retries at the next refresh.', icon: 'error' });
      if (!this.state) {
        if (!this.error) out.push({ kind: 'message', text: 'Asking the workers through the broker…', icon: 'loading~spin' });
        return out;
      }
      if (!this.state.workers.length) out.push({ kind: 'message', text: 'No worker answered on this broker.', detail: 'Workers answer when their app calls workerlens_agent.celery.install(app), or with WORKERLENS=1 and the autostart hook.', icon: 'info' });
      for (const g of groupByHost(this.state.workers)) out.push({ kind: 'host', host: g.host, workers: g.workers });
      const rows = fleetTaskTable(this.state.workers);
      if (rows.length) out.push({ kind: 'tasks', rows });
      return out;
    }
    if (node.kind === 'host') return node.workers.map(worker => ({ kind: 'worker', worker }));
    if (node.kind === 'worker') return (node.worker.reply?.processes ?? []).map(proc => ({ kind: 'process', worker: node.worker, proc }));
    if (node.kind === 'tasks') return node.rows.map(row => ({ kind: 'task', row }));
    return [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    const C = vscode.TreeItemCollapsibleState;
    switch (node.kind) {
      case 'message': {
        const item = new vscode.TreeItem(node.text, C.None);
        item.iconPath = new vscode.ThemeIcon(node.icon);
        item.tooltip = node.detail ? `${node.text}\n${node.detail}` : node.text;
        return item;
      }
      case 'host': {
        const item = new vscode.TreeItem(node.host, C.Expanded);
        item.id = `host:${node.host}`;
        item.iconPath = new vscode.ThemeIcon('server');
        item.description = plural(node.workers.length, 'worker');
        item.contextValue = 'fleetHost';
        return item;
      }
      case 'worker': return workerItem(node.worker);
      case 'process': return processItem(node.worker, node.proc, this.isAttached(node.worker.node, node.proc.pid));
      case 'tasks': {
        const item = new vscode.TreeItem('Tasks, fleet-wide: memory per run', C.Expanded);
        item.id = 'fleet-tasks';
        item.iconPath = new vscode.ThemeIcon('list-ordered');
        item.tooltip = 'RSS after − before each run (task_prerun → task_postrun) in the process that ran it, summed over every worker, on the runs whose RSS was measured (agents sample runs to stay cheap); per run = total ÷ measured runs. Prefork: exact per process; threads/gevent pools: runs overlap, so figures mix.';
        return item;
      }
      case 'task': {
        const r = node.row;
        const item = new vscode.TreeItem(r.name, C.None);
        item.description = `${signed(r.perRunBytes)}/run · ${plural(r.runs, 'run')} on ${plural(r.workers, 'worker')} · total ${signed(r.memDeltaBytes)}`;
        item.iconPath = new vscode.ThemeIcon(r.perRunBytes > 0 ? 'arrow-up' : 'dash');
        item.tooltip = `${r.name}: RSS measured on ${r.memSampledRuns.toLocaleString('en-US')} of ${plural(r.runs, 'run')}; mean ${signed(r.perRunBytes)} per measured run`;
        return item;
      }
    }
  }

  dispose(): void {
    this.running?.abort();
    this.helper?.helper.dispose();
    clearInterval(this.timer);
    this.changed.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

function workerItem(w: FleetWorker): vscode.TreeItem {
  const item = new vscode.TreeItem(w.node, w.reply ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
  item.id = `worker:${w.node}:${w.reply?.pid ?? w.status}`;
  if (!w.reply) {
    item.iconPath = new vscode.ThemeIcon(w.status === 'no-answer' ? 'clock' : 'question');
    item.description = w.status === 'no-answer' ? 'no answer in time' : 'unknown';
    item.tooltip = `${w.node}: ${w.reason ?? ''}`;
    return item;
  }
  const r = w.reply;
  const parts: string[] = [];
  if (w.growthBytes !== null) parts.push(signed(w.growthBytes));
  const trend = sparkline(workerTrend(w));
  if (trend) parts.push(trend);
  parts.push(formatBytes(w.rssBytes));
  const g = workerGrowth(w, 1)[0];
  if (g) parts.push(`${g.type} +${g.delta}`);
  if (w.duplicate) parts.unshift('DUPLICATE NAME');
  item.description = parts.join(' · ');
  item.iconPath = new vscode.ThemeIcon(w.duplicate ? 'warning' : (w.growthBytes ?? 0) > 0 ? 'graph-line' : 'pass');
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${w.node}** on ${r.host} — pid ${r.pid}, ${r.pool ?? '?'} pool${r.concurrency ? ` × ${r.concurrency}` : ''}\n\n`);
  if (w.duplicate) md.appendMarkdown(`⚠ ${w.reason}\n\n`);
  md.appendMarkdown(`RSS ${formatBytes(w.rssBytes)}${w.growthBytes !== null && w.since !== null ? `, ${signed(w.growthBytes)} since ${clock(w.since)} (first fleet look)` : ''}\n\n`);
  if (w.taskMemBytes) md.appendMarkdown(`Task runs changed RSS by ${signed(w.taskMemBytes)} in total\n\n`);
  const growth = workerGrowth(w);
  if (growth.length) md.appendMarkdown(`Growing types (gc-tracked count since the first counted look): ${growth.map(x => `\`${x.module}.${x.type}\` +${x.delta}`).join(', ')}\n\n`);
  // who holds them, as each process's flight recorder found it (never searched for the Fleet view)
  for (const x of growth.filter(x => x.path)) md.appendMarkdown(`\`${x.module}.${x.type}\` held by \`${x.path}\`${x.pathHow ? ` — ${x.pathHow}` : ''}\n\n`);
  md.appendMarkdown(`Recycling: max tasks per child ${r.maxTasksPerChild ?? 'none'}, max memory per child ${r.maxMemoryPerChildKb ? formatBytes(r.maxMemoryPerChildKb * 1024) : 'none'}\n\n`);
  md.appendMarkdown(`Python ${r.python}, Celery ${r.celery ?? '?'}, agent ${r.agentVersion}; answered in ${r.elapsedMs} ms${r.truncated ? ' (reply shortened to fit)' : ''}\n\n`);
  md.appendMarkdown(`_${FLEET_HOW}_`);
  item.tooltip = md;
  item.contextValue = 'fleetWorker';
  return item;
}

function processItem(w: FleetWorker, p: FleetProcess, attached: boolean): vscode.TreeItem {
  const name = p.role === 'main' ? 'main' : p.processName ?? 'child';
  const item = new vscode.TreeItem(name, vscode.TreeItemCollapsibleState.None);
  item.id = `proc:${w.node}:${p.pid}`;
  // Memory and its growth first: that is what tells a pool's children apart, and the rest may be
  // cut at the default sidebar width (the pid is in the tooltip too).
  const parts = [p.rssBytes === null ? 'RSS ?' : formatBytes(p.rssBytes)];
  if (p.rssBytes !== null && p.rssFirstBytes !== null) parts.push(signed(p.rssBytes - p.rssFirstBytes));
  const trend = sparkline(p.trend);
  if (trend) parts.push(trend);
  parts.push(`pid ${p.pid}`);
  const biggest = p.breakdown?.length ? biggestParts(p.breakdown, 2, formatBytes) : '';
  if (biggest) parts.push(biggest);
  if (p.error) parts.push(p.error);
  if (attached) parts.unshift('attached');
  item.description = parts.join(' · ');
  // Attach needs an agent in that process (its port); the token is asked for at attach time.
  item.contextValue = attached ? 'fleetProcess.attached' : p.agentPort ? 'fleetProcess.agent' : 'fleetProcess';
  item.accessibilityInformation = { label: `${name}, pid ${p.pid} on ${w.host}${attached ? ', attached' : p.agentPort ? ', agent running' : ', no agent'}` };
  item.iconPath = new vscode.ThemeIcon(p.error ? 'warning' : p.role === 'main' ? 'server-process' : 'symbol-event');
  const tasks = (p.tasks ?? []).slice(0, 5).map(t => `${t.name}: ${plural(t.runs, 'run')}, ${signed(t.memDeltaBytes)}`).join('\n');
  item.tooltip = `${name} (pid ${p.pid}) on ${w.host}${p.agentPort ? `\nagent on the worker's loopback, port ${p.agentPort} (agent ${p.agentVersion ?? '?'})` : '\nno agent'}`
    + (tasks ? `\n${tasks}` : '') + (p.breakdown ? `\n${p.breakdown.map(b => `${b.label}: ${b.bytes === null ? 'unavailable' : formatBytes(b.bytes)} (${b.how})`).join('\n')}` : '');
  return item;
}
