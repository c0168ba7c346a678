// Command handlers of the Workers and Heap views and the palette.
import * as vscode from 'vscode';
import fs from 'node:fs';
import path from 'node:path';
import type { WorkersView } from './workersView';
import type { HeapView } from './heapView';
import type { SessionManager, Session } from './sessions';
import { describeRow } from './sessions';
import type { WorkerRow } from '../model/workerList';
import type { HeapRow, RetainedSizes } from '../model/heapTable';
import { retainedSink } from './retainedSizes';
import { pythonProcessRows } from '../model/workerList';
import { scanProcesses } from '../cdp/procScan';
import { openDocs } from './docs';
import { showRetainers } from './retainers';
import { formatBytes, plural } from '../common/format';
import type { ProcessEntry } from '../model/workerList';
import type { AllocationsView } from './allocationsView';
import type { HeapWorkers } from './heapWorkers';
import type { PoolView, PoolNode } from './poolView';

export interface CommandDeps {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  workers: WorkersView;
  heap: HeapView;
  sessions: SessionManager;
  allocations: AllocationsView;
  heapWorkers: HeapWorkers;
  pool: PoolView;
}

export function registerCommands(context: vscode.ExtensionContext, deps: CommandDeps): void {
  const { log, workers, heap, sessions } = deps;
  const reg = (id: string, fn: (...args: never[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));

  reg('workerLens.showLog', () => log.show());
  reg('workerLens.openDocs', (section?: string) => openDocs(deps.extensionUri, section));
  reg('workerLens.refreshWorkers', () => workers.refresh());

  reg('workerLens.attach', async (row?: WorkerRow) => {
    await workers.refresh();
    const target = row ?? await pickWorker(workers.all().filter(r => r.state !== 'attached'), false);
    if (target) await attachAndShow(deps, target);
  });

  reg('workerLens.attachProcess', async () => {
    // Any Python process, on request (not only Celery workers): e.g. a plain script or a daemon.
    const procs = await scanProcesses();
    const rows = pythonProcessRows(procs, workers.all(), {
      selfUid: process.getuid?.() ?? -1, attachedPids: sessions.attachedPids(), ignorePids: new Set([process.pid]),
    });
    const target = await pickWorker(rows, true, procs);
    if (target) await attachAndShow(deps, target);
  });

  reg('workerLens.pool.resample', () => deps.pool.resample());
  reg('workerLens.pool.attachChild', async (n?: PoolNode) => {
    const pid = n?.kind === 'proc' ? n.p.pid : n?.kind === 'bare' ? n.pid : null;
    if (pid === null || pid === undefined) return;
    await workers.refresh();
    const row = workers.find(pid);
    if (!row) { void vscode.window.showWarningMessage(`Pool child pid ${pid} is no longer running.`); return; }
    await attachAndShow(deps, row);
  });

  reg('workerLens.detach', (row?: WorkerRow) => {
    const pid = row?.pid ?? heap.current?.pid;
    if (pid !== undefined) sessions.detach(pid);
  });

  reg('workerLens.selectWorker', (row: WorkerRow) => {
    const s = sessions.get(row.pid);
    if (s) heap.setSource(s);
  });

  reg('workerLens.copyEndpoint', async (row?: WorkerRow) => {
    if (!row) return;
    const s = sessions.get(row.pid);
    const url = s ? s.endpointUrl() : row.discovery ? `ws://${row.discovery.host}:${row.discovery.port}/${row.discovery.token}` : row.inspectorPort ? `127.0.0.1:${row.inspectorPort}` : undefined;
    if (!url) return;
    await vscode.env.clipboard.writeText(url);
    void vscode.window.showInformationMessage(`Copied the CDP endpoint of ${describeRow(row)}: it carries the agent's token, keep it private.`);
  });

  reg('workerLens.takeSnapshot', async (row?: WorkerRow) => {
    // from the Heap view's context menu `row` is a type's context, not a Workers row
    const s = row && typeof row.pid === 'number' ? sessions.get(row.pid) : sessionOf(heap, sessions);
    if (!s) { void vscode.window.showWarningMessage('Attach to a worker first: snapshots are taken from an attached worker.'); return; }
    await takeSnapshot(s, log, deps.heapWorkers, r => heap.setRetained(s.pid, r));
  });

  reg('workerLens.allocations.start', async () => {
    const s = sessionOf(heap, sessions);
    if (!s) { void vscode.window.showWarningMessage('Attach to a worker first: allocation tracking runs in an attached worker.'); return; }
    try { await deps.allocations.start(s); } catch (e) { void vscode.window.showErrorMessage(`Could not start allocation tracking in ${s.label}: ${(e as Error).message}`); }
  });
  reg('workerLens.allocations.stop', () => deps.allocations.stop(null));
  reg('workerLens.allocations.setBaseline', () => deps.allocations.setBaseline());
  reg('workerLens.allocations.sortByGrowth', () => deps.allocations.setSort('growth'));
  reg('workerLens.allocations.sortBySize', () => deps.allocations.setSort('bytes'));
  reg('workerLens.heap.setBaseline', () => heap.setBaseline());
  reg('workerLens.heap.pause', () => heap.setPaused(true));
  reg('workerLens.heap.resume', () => heap.setPaused(false));
  reg('workerLens.heap.refresh', () => heap.refresh());
  reg('workerLens.heap.sortByDelta', () => heap.setSort('delta'));
  reg('workerLens.heap.sortByCount', () => heap.setSort('count'));
  reg('workerLens.heap.sortBySize', () => heap.setSort('size'));
  reg('workerLens.heap.sortByRetained', () => heap.setSort('retained'));
  reg('workerLens.heap.clearFilter', () => heap.setFilter(''));
  reg('workerLens.heap.filter', async () => {
    const text = await vscode.window.showInputBox({ title: 'Filter heap types', prompt: 'Show types whose shown name contains this text; with a dot, the module too (builtins.dict, tasks.Pay). Empty: all', value: heap.filterText });
    if (text !== undefined) heap.setFilter(text);
  });
  // `row`: a HeapRow (Enter / double-click in the table), or the webview context menu's
  // data-vscode-context of the row ({ type, key, … }).
  reg('workerLens.heap.showRetainers', async (row?: Pick<HeapRow, 'type'>) => {
    const s = sessionOf(heap, sessions);
    if (!s || !row || typeof row.type !== 'string') { void vscode.window.showWarningMessage('Attach to a worker and choose a type in the Heap view.'); return; }
    return showRetainers(deps.extensionUri, deps.heapWorkers, s, row.type, log, r => heap.setRetained(s.pid, r));
  });
}

function sessionOf(heap: HeapView, sessions: SessionManager): Session | undefined {
  return heap.current ? sessions.get(heap.current.pid) : sessions.all()[0];
}

async function attachAndShow(deps: CommandDeps, target: WorkerRow): Promise<void> {
  const s = await deps.sessions.attachWithUi(target);
  if (!s) return;
  deps.heap.setSource(s);
  await deps.workers.refresh();
  if (target.role === 'main' && target.kind !== 'node' && target.children.some(c => c.discovery)) {
    // children with their own agents: sample them beside the main and name the one that leaks
    // (the same code as `workerlens heap --pid MAIN`); the view offers to attach that child
    void vscode.commands.executeCommand('workerLens.pool.focus');
    void deps.pool.compare(target);
    return;
  }
  const kids = target.children.filter(c => !deps.sessions.get(c.pid));
  if (target.role === 'main' && kids.length) {
    // In prefork, tasks run in the children: the main process alone rarely shows the leak.
    const all = kids.length === 1 ? 'Attach the child' : `Attach ${kids.length} children`;
    const choice = await vscode.window.showInformationMessage(
      `Attached to ${describeRow(target)}. Its tasks run in ${plural(kids.length, 'pool child', 'pool children')}: attach ${kids.length === 1 ? 'it' : 'them'} too?`, all);
    if (choice === all) {
      for (const k of kids) await deps.sessions.attachWithUi(k);
      await deps.workers.refresh();
    }
  }
}

/**
 * The attach picker. With `procs` (any Python process), typing a pid that is not listed says why it
 * is not (not a Python process, no such process) instead of an empty "0 Results".
 */
async function pickWorker(rows: WorkerRow[], anyPython: boolean, procs?: ProcessEntry[]): Promise<WorkerRow | undefined> {
  if (!rows.length && !procs) {
    const docs = 'How to start one';
    const choice = await vscode.window.showInformationMessage(anyPython
      ? 'Worker Lens found no Python process on this machine.'
      : 'Worker Lens found no Celery worker, Python process with the agent, or Node inspector to attach to. Start a worker (e.g. `celery -A proj worker --workerlens`) and try again, or use "Attach to Python Process…".', docs);
    if (choice === docs) await vscode.commands.executeCommand('workerLens.openDocs', 'attach');
    return undefined;
  }
  type Item = vscode.QuickPickItem & { row?: WorkerRow; pid?: number };
  const items: Item[] = rows.map(r => ({ label: describeRow(r), description: `${r.pool ? r.pool + ' · ' : ''}${r.state}`, detail: r.commandLine.slice(0, 160), row: r }));
  const qp = vscode.window.createQuickPick<Item>();
  qp.title = anyPython ? 'Attach to Python process' : 'Attach to worker';
  qp.placeholder = procs ? 'Choose a process, or type its pid' : 'Choose a process';
  qp.matchOnDetail = true;
  qp.items = items;
  if (procs) {
    qp.onDidChangeValue(v => {
      const pid = /^\s*(\d+)\s*$/.exec(v)?.[1];
      const listed = pid !== undefined && rows.some(r => String(r.pid) === pid || describeRow(r).includes(pid));
      qp.items = pid !== undefined && !listed ? [...items, { label: `pid ${pid}`, description: 'not in the list', alwaysShow: true, pid: +pid }] : items;
    });
  }
  const picked = await new Promise<Item | undefined>(resolve => {
    qp.onDidAccept(() => { resolve(qp.selectedItems[0]); qp.hide(); });
    qp.onDidHide(() => resolve(undefined));
    qp.show();
  });
  qp.dispose();
  if (!picked || picked.row) return picked?.row;
  const proc = procs?.find(p => p.pid === picked.pid);
  void vscode.window.showErrorMessage(proc
    ? `Process ${picked.pid} (${proc.comm}: ${proc.argv.join(' ').slice(0, 120)}) is not a Python process: Worker Lens attaches to CPython 3.8+ processes and Node inspectors.`
    : `There is no process with pid ${picked.pid} on this machine.`);
  return undefined;
}

async function takeSnapshot(s: Session, log: vscode.LogOutputChannel, workers: HeapWorkers, onRetained: (r: RetainedSizes) => void): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const target = await vscode.window.showSaveDialog({
    title: `Save a heap snapshot of ${s.label}`,
    defaultUri: vscode.Uri.file(path.join(folder, `${s.kind === 'node' ? 'node' : 'worker'}-${s.remote ? `${s.remote.node.replace(/[^\w.-]/g, '_')}-${s.remote.pid}` : s.pid}-${stamp}.heapsnapshot`)),
    filters: { 'Heap snapshot': ['heapsnapshot'] },
  });
  if (!target) return;
  const tmp = `${target.fsPath}.part`;
  const out = fs.createWriteStream(tmp);
  // the Heap view's Retained column comes from this snapshot too
  const retained = retainedSink(workers, s.label, 'Take Heap Snapshot', log);
  const at = Date.now();
  try {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, cancellable: true, title: `Heap snapshot of ${s.label}` }, (progress, token) => {
      const ac = new AbortController();
      token.onCancellationRequested(() => ac.abort());
      let last = 0;
      return s.streamSnapshot(ac.signal, chunk => { out.write(chunk); retained.write(chunk); }, (done, total) => {
        const pct = total > 0 ? Math.floor((done / total) * 100) : 0;
        if (pct > last) { progress.report({ increment: pct - last, message: `${pct}%` }); last = pct; }
      });
    });
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    retained.finish(at, onRetained);
    fs.renameSync(tmp, target.fsPath);
    const bytes = fs.statSync(target.fsPath).size;
    log.info(`snapshot of ${s.label}: ${bytes} bytes → ${target.fsPath}`);
    void vscode.window.showInformationMessage(`Saved a heap snapshot of ${s.label} (${formatBytes(bytes)}). Open it here to see its retainers; Chrome DevTools opens it too (Memory → Load).`);
  } catch (e) {
    out.destroy();
    retained.abort();
    fs.rmSync(tmp, { force: true });
    if (/cancel/i.test((e as Error).message)) return;
    log.error(`snapshot of ${s.label} failed: ${(e as Error).message}`);
    void vscode.window.showErrorMessage(`Heap snapshot of ${s.label} failed: ${(e as Error).message}. Nothing was saved; the worker keeps running.`);
  }
}
