// The Threads view: every thread of the attached worker (a main process brings its pool children)
// with its stack (click a frame → its source line), state, Celery task against its time limits,
// what it waits on and who holds it, and deadlocks. Stacks come from src/cdp/threadStacks.ts: the
// agent, or an outside read when the agent cannot answer (each process says which). Refreshes
// while visible; one refresh at a time.
import * as vscode from 'vscode';
import type { GetThreadStacksResult, StackFrame, ThreadStack } from '../protocol/agent';
import { childProcesses, processLabel, ProcessStacks, readProcessStacks } from '../cdp/threadStacks';
import { deadlockSummary, objectLabel, sortThreads, sourceLabel, stateLabel, taskSummary, threadsById, threadTitle, waitSummary } from '../model/threads';
import type { Session } from './sessions';

const REFRESH_MS = 2000;

type Node =
  | { kind: 'process'; p: ProcessStacks }
  | { kind: 'deadlock'; p: ProcessStacks; index: number }
  | { kind: 'thread'; p: ProcessStacks; t: ThreadStack; inDeadlock: boolean }
  | { kind: 'info'; id: string; label: string; description?: string; icon: string; color?: string; tooltip?: string; at?: { url: string; lineNumber: number } }
  | { kind: 'frame'; id: string; f: StackFrame; top: boolean };

export class ThreadsView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private session: Session | undefined;
  private processes: ProcessStacks[] = [];
  private timer: NodeJS.Timeout | undefined;
  private view: vscode.TreeView<Node> | undefined;
  private busy = false;

  constructor(private readonly log: vscode.LogOutputChannel, private readonly agentDir: string) {}

  attachView(view: vscode.TreeView<Node>): vscode.Disposable {
    this.view = view;
    return view.onDidChangeVisibility(() => { this.reschedule(); if (view.visible) void this.refresh(); });
  }

  setSource(session: Session | undefined): void {
    const next = session?.kind === 'python' ? session : undefined;
    if (next === this.session) return;
    this.session = next;
    this.processes = [];
    void vscode.commands.executeCommand('setContext', 'workerLens.threads.hasSource', !!next);
    if (this.view) this.view.message = next ? `Reading the threads of ${next.label}…` : undefined;
    this.changed.fire(undefined);
    this.reschedule();
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const s = this.session;
    if (!s || this.busy) return;
    this.busy = true;
    try {
      const targets: { pid: number; label: string; discovery: Session['discovery'] }[] = [{ pid: s.pid, label: s.label, discovery: s.discovery }];
      // A remote worker: its children are not this machine's processes, and stacks come from its agent only.
      if (!s.remote && (s.discovery?.role === 'main' || s.info?.role === 'main')) {
        for (const c of await childProcesses(s.pid)) targets.push({ pid: c.pid, label: processLabel(c.pid, c.discovery), discovery: c.discovery });
      }
      const list = await Promise.all(targets.map(t => readProcessStacks(t.pid, t.label, {
        client: t.pid === s.pid ? s.client : undefined, discovery: t.discovery, agentDir: this.agentDir, agentTimeoutMs: 4000, via: s.remote ? 'agent' : undefined,
      })));
      if (this.session !== s) return;
      if (s.remote) for (const p of list) if (p.error) p.error += ' (reading stacks from outside the process is not available on a remote worker)';
      for (const p of list) {
        if (p.agentError && p.source === 'outside') this.log.info(`threads of ${p.label}: the agent did not answer (${p.agentError}); read from outside`);
        if (p.error) this.log.warn(`threads of ${p.label}: ${p.error}`);
      }
      this.processes = list;
      if (this.view) this.view.message = banner(list);
      this.changed.fire(undefined);
    } catch (e) {
      this.log.warn(`threads of ${s.label}: ${(e as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  private reschedule(): void {
    if (this.timer) { clearInterval(this.timer); this.timer = undefined; }
    if (this.session && this.view?.visible) this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
  }

  getChildren(n?: Node): Node[] {
    if (!n) {
      if (this.processes.length === 1) return this.processChildren(this.processes[0]);
      return this.processes.map(p => ({ kind: 'process', p }));
    }
    if (n.kind === 'process') return this.processChildren(n.p);
    if (n.kind === 'deadlock') {
      const d = (n.p.result?.deadlocks ?? [])[n.index];
      const byId = threadsById(n.p.result as GetThreadStacksResult);
      return d.threadIds.map(id => byId.get(id)).filter((t): t is ThreadStack => !!t).map(t => ({ kind: 'thread', p: n.p, t, inDeadlock: true }));
    }
    if (n.kind === 'thread') return this.threadChildren(n.p, n.t);
    return [];
  }

  private processChildren(p: ProcessStacks): Node[] {
    if (!p.result) return [{ kind: 'info', id: `err-${p.pid}`, label: 'No stacks', description: p.error ?? '', icon: 'error', color: 'errorForeground', tooltip: `${p.error}${p.agentError ? `\nAgent: ${p.agentError}` : ''}` }];
    const r = p.result;
    const dead = new Set((r.deadlocks ?? []).flatMap(d => d.threadIds));
    const out: Node[] = (r.deadlocks ?? []).map((_d, index) => ({ kind: 'deadlock', p, index }));
    for (const t of sortThreads(r)) out.push({ kind: 'thread', p, t, inDeadlock: dead.has(t.threadId) });
    return out;
  }

  private threadChildren(p: ProcessStacks, t: ThreadStack): Node[] {
    const key = `${p.pid}-${t.threadId}`;
    const byId = threadsById(p.result as GetThreadStacksResult);
    const out: Node[] = [];
    if (t.task) out.push({ kind: 'info', id: `task-${key}`, label: 'Task', description: taskSummary(t.task), icon: t.task.pastSoftLimit ? 'warning' : 'symbol-event', color: t.task.pastSoftLimit ? 'list.warningForeground' : undefined, tooltip: `Celery task ${t.task.name} (id ${t.task.taskId}), started ${new Date(t.task.startedAt * 1000).toLocaleTimeString()} (task_prerun in this thread). Limits (the task's or the app's; a per-call override is not seen): soft ${t.task.softTimeLimit ?? 'none'}, hard ${t.task.timeLimit ?? 'none'}.` });
    if (t.waitsOn) {
      const w = t.waitsOn;
      out.push({ kind: 'info', id: `wait-${key}`, label: 'Waits on', description: waitSummary(w, byId).replace(/^waits on /, ''), icon: 'lock', at: w.at ?? undefined,
        tooltip: `${objectLabel(w.object)} — ${w.how}${w.holderHow ? `\nHolder: ${w.holderHow}` : ''}${w.object.createdAt ? `\nCreated at ${w.object.createdAt.url}:${w.object.createdAt.lineNumber + 1} (${w.object.createdAt.how})` : '\nWhere it was created: unknown (only known while allocation tracking runs)'}` });
    }
    for (const [i, h] of (t.holds ?? []).entries()) {
      out.push({ kind: 'info', id: `hold-${key}-${i}`, label: 'Holds', description: `\`${h.expression}\` = ${objectLabel(h.object)}`, icon: 'key', at: h, tooltip: `${h.how}\n${h.url}:${h.lineNumber + 1}` });
    }
    if (t.readNote) out.push({ kind: 'info', id: `note-${key}`, label: 'Note', description: t.readNote, icon: 'info' });
    t.frames.forEach((f, i) => out.push({ kind: 'frame', id: `frame-${key}-${i}-${f.url}:${f.lineNumber}`, f, top: i === 0 }));
    if (!t.frames.length) out.push({ kind: 'info', id: `noframes-${key}`, label: 'No Python frames', icon: 'circle-slash' });
    return out;
  }

  getTreeItem(n: Node): vscode.TreeItem {
    switch (n.kind) {
      case 'process': {
        const item = new vscode.TreeItem(n.p.label, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `proc-${n.p.pid}`;
        const r = n.p.result;
        item.description = r ? `${r.threads.filter(t => !t.isAgent).length} threads · ${sourceLabel(r)}` : `no stacks: ${n.p.error}`;
        item.iconPath = new vscode.ThemeIcon((r?.deadlocks ?? []).length ? 'error' : 'server-process', (r?.deadlocks ?? []).length ? new vscode.ThemeColor('errorForeground') : undefined);
        item.tooltip = r ? `${n.p.label}: ${sourceLabel(r)}${r.how ? `\n${r.how}` : ''}${n.p.agentError ? `\nThe agent did not answer: ${n.p.agentError}` : ''}` : `${n.p.error}`;
        return item;
      }
      case 'deadlock': {
        const r = n.p.result as GetThreadStacksResult;
        const d = (r.deadlocks ?? [])[n.index];
        const item = new vscode.TreeItem(`Deadlock: ${d.threadIds.length} threads`, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `dead-${n.p.pid}-${d.threadIds.join('-')}`;
        item.description = deadlockSummary(d, threadsById(r)).replace(/^Deadlock: /, '');
        item.tooltip = `${deadlockSummary(d, threadsById(r))}\n${d.how}`;
        item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
        item.accessibilityInformation = { label: `Deadlock: ${d.threadIds.length} threads: ${item.description}` };
        return item;
      }
      case 'thread': {
        const t = n.t;
        // The name alone as the label (`ThreadPoolExecutor-0_1 (tid 21513)` was cut at the default sidebar width); the tid ends the description and is in the tooltip.
        const item = new vscode.TreeItem(t.name, n.inDeadlock ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `thread-${n.p.pid}-${t.threadId}${n.inDeadlock ? '-d' : ''}`;
        const parts = [stateLabel(t)];
        if (t.task) parts.push(`${t.task.name} ${t.task.runningSeconds.toFixed(0)} s${t.task.pastSoftLimit ? ' — past soft limit' : ''}`);
        if (t.nativeId) parts.push(`tid ${t.nativeId}`);
        item.description = parts.join(' · ');
        const icon = n.inDeadlock ? ['error', 'errorForeground'] : t.task?.pastSoftLimit ? ['warning', 'list.warningForeground']
          : ({ running: ['play'], waiting: ['lock'], sleeping: ['watch'], io: ['plug'], idle: ['circle-outline'], agent: ['eye'] } as Record<string, string[]>)[t.state ?? ''] ?? ['question'];
        item.iconPath = new vscode.ThemeIcon(icon[0], icon[1] ? new vscode.ThemeColor(icon[1]) : undefined);
        item.tooltip = `${threadTitle(t)} (ident ${t.threadId})${t.daemon ? ', daemon' : ''}\nState: ${stateLabel(t)}${t.kernelState ? ` (kernel ${t.kernelState}${t.syscall ? `, syscall ${t.syscall}` : ''})` : ''}${t.task ? `\nTask: ${taskSummary(t.task)}` : ''}`;
        item.contextValue = 'thread';
        item.accessibilityInformation = { label: `Thread ${threadTitle(t)}: ${item.description}` };
        return item;
      }
      case 'info': {
        const item = new vscode.TreeItem(n.label, vscode.TreeItemCollapsibleState.None);
        item.id = n.id;
        item.description = n.description;
        item.tooltip = n.tooltip;
        item.iconPath = new vscode.ThemeIcon(n.icon, n.color ? new vscode.ThemeColor(n.color) : undefined);
        if (n.at) item.command = openCommand(n.at.url, n.at.lineNumber);
        item.accessibilityInformation = { label: `${n.label}: ${n.description ?? ''}` };
        return item;
      }
      case 'frame': {
        const f = n.f;
        const item = new vscode.TreeItem(f.functionName, vscode.TreeItemCollapsibleState.None);
        item.id = n.id;
        item.description = `${shortPath(f.url)}:${f.lineNumber + 1}`;
        item.tooltip = `${f.url}:${f.lineNumber + 1}`;
        item.iconPath = new vscode.ThemeIcon(n.top ? 'debug-stackframe' : 'debug-stackframe-dot');
        if (f.url && !f.url.startsWith('<')) item.command = openCommand(f.url, f.lineNumber);
        item.accessibilityInformation = { label: `${f.functionName} ${f.url}:${f.lineNumber + 1}` };
        return item;
      }
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.changed.dispose();
  }
}

function openCommand(url: string, line: number): vscode.Command {
  const pos = new vscode.Position(Math.max(0, line), 0);
  return { command: 'vscode.open', title: 'Open source line', arguments: [vscode.Uri.file(url), { selection: new vscode.Range(pos, pos), preview: true }] };
}

function shortPath(p: string): string {
  const parts = p.split('/');
  return parts.length > 2 ? parts.slice(-2).join('/') : p;
}

function banner(list: ProcessStacks[]): string | undefined {
  // Short: the rows carry the details. One process: its threads are the top level, so say here how they were read.
  const msgs: string[] = [];
  const only = list.length === 1 ? list[0] : undefined;
  if (only?.result) msgs.push(`${only.label}: ${only.result.threads.filter(t => !t.isAgent).length} threads, ${sourceLabel(only.result)}`);
  for (const p of list) {
    const r = p.result;
    if (!r) { msgs.push(`${p.label}: no stacks (${p.error})`); continue; }
    const n = (r.deadlocks ?? []).length;
    if (n) msgs.push(`⚠ Deadlock${n > 1 ? `s (${n})` : ''} in ${p.label}: ${(r.deadlocks ?? []).map(d => `${d.threadIds.length} threads`).join(', ')}`);
    const late = r.threads.filter(t => t.task?.pastSoftLimit);
    if (late.length) msgs.push(`⚠ ${p.label}: ${late.map(t => `${t.task?.name} ${t.task?.runningSeconds.toFixed(0)} s`).join(', ')} past the soft time limit`);
    if (p.source === 'outside') msgs.push(`${p.label}: the agent did not answer; stacks read from outside`);
  }
  return msgs.length ? msgs.join('\n') : undefined;
}
