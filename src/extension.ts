// Wiring only: creates the log, sessions, views, commands and the language client; logic lives in src/ui.
import * as vscode from 'vscode';
import { WorkersView } from './ui/workersView';
import { HeapView } from './ui/heapView';
import { SessionManager } from './ui/sessions';
import { WorkerStatusBar } from './ui/statusBar';
import { startLanguageClient } from './ui/languageClient';
import { registerCommands } from './ui/commands';
import { followReplacements } from './ui/replacements';
import { listDiscoveryFiles } from './cdp/discovery';
import { growthDetector } from './ui/growthDetector';
import { AllocationsView } from './ui/allocationsView';
import { TasksView } from './ui/tasksView';
import { PoolView } from './ui/poolView';
import { ThreadsView } from './ui/threadsView';
import { SnapshotEditorProvider } from './ui/snapshotEditor';
import { TimelineController } from './ui/timeline';
import { registerFleet } from './ui/fleetCommands';
import { HeapWorkers } from './ui/heapWorkers';
import { releaseRetainerSnapshots } from './ui/retainers';
import { registerMemoryCommands } from './ui/memoryCommands';
import { registerReportDocuments } from './ui/reportDocument';
import { ReportReader, reportDirs } from './cdp/reportFiles';

/** What activate() returns: the live parts, for the extension-host integration tests. */
export interface WorkerLensApi { sessions: SessionManager; workers: WorkersView; heap: HeapView; allocations: AllocationsView; heapWorkers: HeapWorkers; pool: PoolView }

export async function activate(context: vscode.ExtensionContext): Promise<WorkerLensApi> {
  const log = vscode.window.createOutputChannel('Worker Lens', { log: true });
  context.subscriptions.push(log);
  log.info(`Worker Lens ${context.extension.packageJSON.version as string} activating (uiKind ${vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop'})`);

  const heapWorkers = new HeapWorkers(context.extensionUri, log);
  context.subscriptions.push(heapWorkers, { dispose: releaseRetainerSnapshots });
  const sessions = new SessionManager(context.extensionUri, log, heapWorkers);
  const reports = new ReportReader();
  const workers = new WorkersView({
    readDiscovery: () => listDiscoveryFiles(undefined, why => log.warn(why)), attachedPids: () => sessions.attachedPids(),
    readExitedReports: async () => (await reports.list(reportDirs(), { exitedOnly: true })).entries,
  }, log);
  const heap = new HeapView(context.extensionUri, log, growthDetector);
  const status = new WorkerStatusBar();
  const workersTree = vscode.window.createTreeView('workerLens.workers', { treeDataProvider: workers, showCollapseAll: true });
  const heapTree = heap.register();
  const allocations = new AllocationsView(log);
  const allocationsTree = vscode.window.createTreeView('workerLens.allocations', { treeDataProvider: allocations });
  allocations.attachView(allocationsTree);
  context.subscriptions.push(allocations, allocationsTree);
  const tasks = new TasksView(log);
  const tasksTree = vscode.window.createTreeView('workerLens.tasks', { treeDataProvider: tasks });
  context.subscriptions.push(tasks, tasksTree, tasks.attachView(tasksTree), heap.onDidChangeSource(s => tasks.setSource(s ? sessions.get(s.pid) : undefined)));
  const pool = new PoolView(log, async pid => { await vscode.commands.executeCommand('workerLens.attach', workers.find(pid)); });
  const poolTree = vscode.window.createTreeView('workerLens.pool', { treeDataProvider: pool });
  pool.attachView(poolTree);
  context.subscriptions.push(pool, poolTree, sessions.onDidDetach(({ session }) => pool.clear(session.pid)));
  const threads = new ThreadsView(log, vscode.Uri.joinPath(context.extensionUri, 'agent').fsPath);
  const threadsTree = vscode.window.createTreeView('workerLens.threads', { treeDataProvider: threads, showCollapseAll: true });
  context.subscriptions.push(threads, threadsTree, threads.attachView(threadsTree), heap.onDidChangeSource(s => threads.setSource(s ? sessions.get(s.pid) : undefined)),
    vscode.commands.registerCommand('workerLens.threads.refresh', () => threads.refresh()));
  context.subscriptions.push(sessions, workers, heap, status, workersTree, heapTree, workers.watch(workersTree, 2000));

  const updateStatus = () => {
    const cur = heap.current;
    if (!cur) { status.hide(); return; }
    status.show(cur.label, workers.find(cur.pid)?.rssBytes, sessions.all().length);
  };
  context.subscriptions.push(
    sessions.onDidAttach(() => { allocations.attached(); void workers.refresh(); updateStatus(); }),
    sessions.onDidDetach(({ session, reason }) => {
      allocations.forget(session.pid, session.label, reason ?? undefined);
      if (reason) heap.markGone(session.pid, `${session.label} is gone: ${reason}. The counts shown are its last ones.`);
      else {
        heap.forget(session.pid);
        // back to the worker shown before this one (not merely the first attached)
        const back = [...heap.recentlyShown()].reverse().map(p => sessions.get(p)).find(s => s);
        if (heap.current?.pid === session.pid) heap.setSource(back ?? sessions.all()[0]);
      }
      void workers.refresh();
      updateStatus();
    }),
    workers.onDidRefresh(updateStatus),
    followReplacements(workers, sessions, heap, log),
  );
  const timeline = new TimelineController(context.extensionUri, sessions, log);
  context.subscriptions.push(timeline, vscode.commands.registerCommand('workerLens.showTimeline', () => timeline.show()),
    heap.onDidSetBaseline(at => timeline.baseline(`baseline ${new Date(at).toLocaleTimeString()}`)));
  const snapshots = SnapshotEditorProvider.register(context, heapWorkers, log);
  context.subscriptions.push(vscode.commands.registerCommand('workerLens.snapshot.chooseType', () => snapshots.chooseType()));
  registerReportDocuments(context, log);
  registerCommands(context, { extensionUri: context.extensionUri, log, workers, heap, sessions, allocations, heapWorkers, pool });
  registerFleet(context, log, sessions, s => heap.setSource(s));
  context.subscriptions.push(registerMemoryCommands(heap, log));
  await workers.refresh();

  try {
    context.subscriptions.push(await startLanguageClient(context, log));
  } catch (e) {
    // The heap features work without the language server: say so, keep going.
    log.error(`Race analysis is off: the language server did not start: ${(e as Error).message}`);
  }
  log.info('Worker Lens active');
  return { sessions, workers, heap, allocations, heapWorkers, pool };
}

export function deactivate(): void { /* disposables in context.subscriptions clean up */ }
