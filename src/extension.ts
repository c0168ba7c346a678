// Wiring only: creates the log, views, commands and the language client; logic lives in src/ui.
import * as vscode from 'vscode';
import { WorkersView } from './ui/workersView';
import { startLanguageClient } from './ui/languageClient';
import { registerCommands } from './ui/commands';

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('Worker Lens', { log: true });
  context.subscriptions.push(log);
  log.info(`Worker Lens ${context.extension.packageJSON.version as string} activating (uiKind ${vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop'})`);

  const workers = new WorkersView({ readDiscovery: () => Promise.resolve([]), attachedPids: () => new Set() }, log);
  const workersTree = vscode.window.createTreeView('workerLens.workers', { treeDataProvider: workers, showCollapseAll: true });
  context.subscriptions.push(workers, workersTree, workers.watch(workersTree, 3000));
  registerCommands(context, { log, workers });
  await workers.refresh();

  try {
    context.subscriptions.push(await startLanguageClient(context, log));
  } catch (e) {
    // The heap features work without the language server: say so, keep going.
    log.error(`Race analysis is off: the language server did not start: ${(e as Error).message}`);
  }
  log.info('Worker Lens active');
}

export function deactivate(): void { /* disposables in context.subscriptions clean up */ }
