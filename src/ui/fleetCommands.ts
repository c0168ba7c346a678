// Wires the Fleet view (src/ui/fleetView.ts): its tree, refresh-while-visible and its commands,
// Attach/Detach on a remote worker or child included (src/ui/remoteSessions.ts).
import * as vscode from 'vscode';
import { FleetView, type FleetNode } from './fleetView';
import { RemoteSessions } from './remoteSessions';
import type { Session, SessionManager } from './sessions';

export function registerFleet(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, sessions: SessionManager, show: (s: Session) => void): FleetView {
  const fleet = new FleetView(context.secrets, vscode.Uri.joinPath(context.extensionUri, 'agent').fsPath, log);
  const tree = vscode.window.createTreeView('workerLens.fleet', { treeDataProvider: fleet, showCollapseAll: true });
  const remote = new RemoteSessions(sessions, signal => fleet.fleetWithTokens(signal), log, show);
  fleet.setAttached((node, pid) => remote.find(node, pid) !== undefined);
  const target = (n?: FleetNode) => (n?.kind === 'process' ? { node: n.worker.node, host: n.worker.host, pid: n.proc.pid as number | null }
    : n?.kind === 'worker' ? { node: n.worker.node, host: n.worker.host, pid: null } : null);
  context.subscriptions.push(fleet, tree, fleet.watch(tree),
    sessions.onDidAttach(s => { if (s.remote) fleet.redraw(); }),
    sessions.onDidDetach(({ session }) => { if (session.remote) fleet.redraw(); }),
    vscode.commands.registerCommand('workerLens.fleet.connect', (url?: string) => fleet.connect(typeof url === 'string' ? url : undefined)),
    vscode.commands.registerCommand('workerLens.fleet.refresh', () => fleet.refresh()),
    vscode.commands.registerCommand('workerLens.fleet.disconnect', () => fleet.disconnect()),
    // On a worker row: its child that ran the most tasks (where a prefork leak shows), as the CLI's --heap NODE.
    vscode.commands.registerCommand('workerLens.fleet.attach', async (n?: FleetNode) => {
      const t = target(n ?? tree.selection[0]);
      if (!t) { void vscode.window.showInformationMessage('Choose a worker or a pool child in the Fleet view, then Attach.'); return; }
      await remote.attachWithUi(t);
    }),
    vscode.commands.registerCommand('workerLens.fleet.detach', (n?: FleetNode) => {
      const t = target(n ?? tree.selection[0]);
      const s = t && t.pid !== null ? remote.find(t.node, t.pid) : undefined;
      if (s) sessions.detach(s.pid);
    }));
  return fleet;
}
