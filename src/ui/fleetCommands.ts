// Wires the Fleet view (src/ui/fleetView.ts): its tree, refresh-while-visible and its commands.
import * as vscode from 'vscode';
import { FleetView } from './fleetView';

export function registerFleet(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): FleetView {
  const fleet = new FleetView(context.secrets, vscode.Uri.joinPath(context.extensionUri, 'agent').fsPath, log);
  const tree = vscode.window.createTreeView('workerLens.fleet', { treeDataProvider: fleet, showCollapseAll: true });
  context.subscriptions.push(fleet, tree, fleet.watch(tree),
    vscode.commands.registerCommand('workerLens.fleet.connect', (url?: string) => fleet.connect(typeof url === 'string' ? url : undefined)),
    vscode.commands.registerCommand('workerLens.fleet.refresh', () => fleet.refresh()),
    vscode.commands.registerCommand('workerLens.fleet.disconnect', () => fleet.disconnect()));
  return fleet;
}
