// Command handlers of the Workers view and the palette.
import * as vscode from 'vscode';
import type { WorkersView } from './workersView';
import type { WorkerRow } from '../model/workerList';

export interface CommandDeps {
  log: vscode.LogOutputChannel;
  workers: WorkersView;
}

export function registerCommands(context: vscode.ExtensionContext, deps: CommandDeps): void {
  const { log, workers } = deps;
  const reg = (id: string, fn: (...args: never[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));

  reg('workerLens.showLog', () => log.show());
  reg('workerLens.refreshWorkers', () => workers.refresh());
  reg('workerLens.attach', async (row?: WorkerRow) => {
    await workers.refresh();
    const target = row ?? await pickWorker(workers.all());
    if (!target) return;
    log.info(`attach requested: pid ${target.pid}`);
  });
}

async function pickWorker(rows: WorkerRow[]): Promise<WorkerRow | undefined> {
  if (!rows.length) {
    const demo = 'How to start one';
    const choice = await vscode.window.showInformationMessage(
      'Worker Lens found no Celery worker, Python process with the agent, or Node inspector on this machine. ' +
      'Start a worker (e.g. `celery -A proj worker --workerlens`) and try again.', demo);
    if (choice === demo) await vscode.env.openExternal(vscode.Uri.parse('https://example.invalid/workerlens#attach'));
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(rows.map(r => ({
    label: `${r.kind === 'celery' ? (r.role === 'main' ? 'celery main' : r.roleLabel) : r.roleLabel}`,
    description: `pid ${r.pid}${r.pool ? ' · ' + r.pool : ''} · ${r.state}`,
    row: r,
  })), { title: 'Attach to worker', placeHolder: 'Choose a worker process' });
  return pick?.row;
}
