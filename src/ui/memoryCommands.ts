// "Trim now" (workerLens.heap.trimMemory): glibc malloc_trim(0) in the worker shown in the Heap
// view, then one message with what came back — the user's proof that the RSS was fragmentation.
import * as vscode from 'vscode';
import type { HeapView } from './heapView';
import { formatBytes } from '../common/format';

export function registerMemoryCommands(heap: HeapView, log: vscode.LogOutputChannel): vscode.Disposable {
  return vscode.commands.registerCommand('workerLens.heap.trimMemory', async () => {
    const source = heap.current;
    if (!source) { void vscode.window.showWarningMessage('Worker Lens: attach to a worker first: Trim now acts on the worker shown in the Heap view.'); return; }
    try {
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Worker Lens: malloc_trim in ${source.label}` }, () => heap.trimNow());
      const msg = r.trimmed || (r.releasedBytes ?? 0) > 0
        ? `Trim returned ${formatBytes(Math.max(0, r.releasedBytes ?? 0))} to the OS: RSS ${formatBytes(r.rssBeforeBytes ?? 0)} → ${formatBytes(r.rssAfterBytes ?? 0)} (${r.trimMs.toFixed(1)} ms in ${source.label}).`
        : `Trim returned nothing in ${source.label}: ${r.reason ?? 'malloc held no free pages it could release'}.`;
      log.info(`trim ${source.label}: ${msg}`);
      void vscode.window.showInformationMessage(`Worker Lens: ${msg}`);
    } catch (e) {
      log.warn(`trim ${source.label}: ${(e as Error).message}`);
      void vscode.window.showErrorMessage(`Worker Lens: Trim now failed in ${source.label}: ${(e as Error).message}`);
    }
  });
}
