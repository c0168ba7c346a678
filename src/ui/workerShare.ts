// The workerLens.heap.workerShare setting, read where the Heap view, its memory header and the open
// timeline budget what they ask of a worker.
import * as vscode from 'vscode';
import { WORKER_SHARE_PERCENT } from '../model/refreshBudget';

/** Percent of a Python worker's time the Heap view (and the open Memory timeline) may take. */
export function workerSharePercent(): number {
  return vscode.workspace.getConfiguration('workerLens').get<number>('heap.workerShare', WORKER_SHARE_PERCENT);
}
