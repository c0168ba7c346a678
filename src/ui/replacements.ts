// Notices when an attached worker process exits (max_tasks_per_child, max_memory_per_child, a crash)
// and offers its replacement: the new pool child of the same main process.
import * as vscode from 'vscode';
import type { WorkersView } from './workersView';
import type { SessionManager } from './sessions';
import type { HeapView } from './heapView';
import type { WorkerRow } from '../model/workerList';
import { describeRow } from './sessions';

interface Awaiting { label: string; mainPid: number; knownPids: Set<number>; since: number }

/** How long to look for the replacement after a child went away. */
const LOOK_MS = 60_000;

export function followReplacements(workers: WorkersView, sessions: SessionManager, heap: HeapView, log: vscode.LogOutputChannel): vscode.Disposable {
  const awaiting: Awaiting[] = [];
  const subs = [
    workers.onDidRefresh(rows => {
      const live = new Set(rows.map(r => r.pid));
      for (const s of sessions.all()) if (!s.remote && !live.has(s.pid)) sessions.drop(s, 'the process exited');
      for (const a of [...awaiting]) {
        const fresh = rows.filter(r => r.ppid === a.mainPid && r.role === 'child' && !a.knownPids.has(r.pid));
        if (fresh.length) {
          awaiting.splice(awaiting.indexOf(a), 1);
          void offer(a, fresh.sort((x, y) => y.pid - x.pid)[0]);
        } else if (Date.now() - a.since > LOOK_MS || !live.has(a.mainPid)) {
          awaiting.splice(awaiting.indexOf(a), 1);
        }
      }
    }),
    sessions.onDidDetach(({ session, reason }) => {
      if (!reason || session.row?.role !== 'child') {
        if (reason) void vscode.window.showWarningMessage(`${session.label} is gone (${reason}). Worker Lens keeps its last heap counts on screen.`);
        return;
      }
      awaiting.push({ label: session.label, mainPid: session.row.ppid, knownPids: new Set(workers.all().map(r => r.pid)), since: Date.now() });
      void workers.refresh();
    }),
  ];

  async function offer(a: Awaiting, replacement: WorkerRow): Promise<void> {
    log.info(`${a.label} was replaced by pid ${replacement.pid}`);
    const attach = 'Attach to replacement';
    const choice = await vscode.window.showWarningMessage(
      `${a.label} is gone; the pool started ${describeRow(replacement)} in its place.`, attach);
    if (choice !== attach) return;
    const s = await sessions.attachWithUi(replacement);
    if (s) heap.setSource(s);
  }

  return new vscode.Disposable(() => subs.forEach(d => d.dispose()));
}
