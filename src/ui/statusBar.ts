// Status bar item: the attached worker and its memory; click focuses the Heap view.
import * as vscode from 'vscode';
import { formatBytes } from '../common/format';

export class WorkerStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('workerLens.status', vscode.StatusBarAlignment.Left, 50);

  constructor() {
    this.item.name = 'Worker Lens';
    this.item.command = 'workerLens.heap.focus';
  }

  show(label: string, rssBytes: number | undefined, attachedCount: number): void {
    const more = attachedCount > 1 ? ` +${attachedCount - 1}` : '';
    this.item.text = `$(pulse) ${label}${more}${rssBytes !== undefined ? ` · ${formatBytes(rssBytes)}` : ''}`;
    this.item.tooltip = `Worker Lens: attached to ${label}${more ? ` and ${attachedCount - 1} more` : ''}. Click to show the Heap view.`;
    this.item.show();
  }

  hide(): void { this.item.hide(); }

  dispose(): void { this.item.dispose(); }
}
