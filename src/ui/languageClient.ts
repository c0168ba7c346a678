// Starts the race-risk language server (dist/server.js) and keeps its settings in step:
// `workerLens.races.enabled` / `disabledRules` are pulled by the server and pushed on change.
import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, RevealOutputChannelOn, ServerOptions, TransportKind } from 'vscode-languageclient/node';

function raceSettings(): { enabled: boolean; disabledRules: string[] } {
  const c = vscode.workspace.getConfiguration('workerLens.races');
  return { enabled: c.get<boolean>('enabled', true), disabledRules: c.get<string[]>('disabledRules', []) };
}

export async function startLanguageClient(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): Promise<vscode.Disposable> {
  const module = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
  };
  const watcher = vscode.workspace.createFileSystemWatcher('**/*.py');
  // Files that name the Celery pool (quick fixes are ordered by it): the server re-reads them on change.
  const poolWatcher = vscode.workspace.createFileSystemWatcher('**/{.vscode/launch.json,.vscode/tasks.json,Procfile*,docker-compose*.yml,docker-compose*.yaml,compose*.yml,compose*.yaml,*.service}');
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file', language: 'python' }, { scheme: 'untitled', language: 'python' }],
    synchronize: { configurationSection: 'workerLens', fileEvents: [watcher, poolWatcher] },
    // Rule links open the README shipped with the extension (its "Race-risk rules" section).
    initializationOptions: { races: raceSettings(), docsUri: vscode.Uri.joinPath(context.extensionUri, 'README.md').toString() },
    outputChannel: log,
    // The server logs analysis failures and keeps running; do not pop up the output on every one.
    revealOutputChannelOn: RevealOutputChannelOn.Never,
  };
  const client = new LanguageClient('workerLens.races', 'Worker Lens race analysis', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (e) {
    watcher.dispose();
    poolWatcher.dispose();
    throw new Error(`the Worker Lens language server (${module}) did not start: ${e instanceof Error ? e.message : String(e)}`);
  }
  log.info(`race analysis server started (${module})`);
  return new vscode.Disposable(() => {
    watcher.dispose();
    poolWatcher.dispose();
    client.stop().catch(e => log.warn(`stopping the race analysis server: ${String(e)}`));
  });
}
