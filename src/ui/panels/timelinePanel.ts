// Host side of the Memory timeline panel (webview: src/webview/timelineMain.ts). Keeps a capped copy
// of what it was given so a reloaded page gets everything back; appends go out as they come.

import * as vscode from 'vscode';
import type { HostToWebviewMessage, TimelineBaseline, TimelineMarker, TimelineSample, TimelineState, TimelineWorker, WebviewToHostMessage } from '../../protocol/webview';
import { PanelHost, panelOptions } from './panelHost';

export interface TimelinePanelCallbacks {
  /** Problems reported by the page or thrown by a callback, one line each (log them). */
  onError?(message: string): void;
}

/** Same caps as the page (src/webview/timelineData.ts): ~11 h of 2-s samples per worker. */
const MAX_SAMPLES_PER_WORKER = 20_000;
const MAX_MARKERS = 5_000;

export class TimelinePanel extends PanelHost {
  static readonly viewType = 'workerLens.timeline';
  private static current: TimelinePanel | undefined;
  private workers: TimelineWorker[] = [];
  private samples: TimelineSample[] = [];
  private markers: TimelineMarker[] = [];
  private baseline: TimelineBaseline | undefined;
  private readonly perWorker = new Map<string, number>();

  private constructor(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, callbacks: TimelinePanelCallbacks) {
    super(panel, extensionUri, 'timeline', 'Memory timeline', m => callbacks.onError?.(m));
  }

  static get currentPanel(): TimelinePanel | undefined { return TimelinePanel.current; }

  /** Opens (or reveals) the panel; `state` replaces what it shows when given. */
  static show(extensionUri: vscode.Uri, state: TimelineState | undefined, callbacks: TimelinePanelCallbacks = {}, column: vscode.ViewColumn = vscode.ViewColumn.Beside): TimelinePanel {
    let p = TimelinePanel.current;
    if (!p || p.isDisposed) {
      const panel = vscode.window.createWebviewPanel(TimelinePanel.viewType, 'Memory timeline', { viewColumn: column, preserveFocus: true }, panelOptions(extensionUri));
      panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'workerlens.svg');
      const created = new TimelinePanel(panel, extensionUri, callbacks);
      TimelinePanel.current = p = created;
      created.onDidDispose(() => { if (TimelinePanel.current === created) TimelinePanel.current = undefined; });
    } else {
      p.reveal();   // in its own column: moving it elsewhere would make it a preview tab
    }
    if (state) p.setState(state);
    return p;
  }

  /** Appends to the open panel (a no-op returning false when none is open). */
  static update(samples: TimelineSample[], markers: TimelineMarker[] = [], workers: TimelineWorker[] = []): boolean {
    const p = TimelinePanel.current;
    if (!p || p.isDisposed) return false;
    p.append(samples, markers, workers);
    return true;
  }

  setState(state: TimelineState): void {
    this.workers = [...state.workers];
    this.samples = [];
    this.markers = [];
    this.perWorker.clear();
    this.baseline = state.baseline;
    this.keep(state.samples, state.markers);
    this.post({ type: 'timeline/state', state: this.snapshot() });
  }

  /** New samples / task markers / workers; only these cross to the page. */
  append(samples: TimelineSample[], markers: TimelineMarker[] = [], workers: TimelineWorker[] = []): void {
    for (const w of workers) {
      const i = this.workers.findIndex(x => x.id === w.id);
      if (i >= 0) this.workers[i] = w; else this.workers.push(w);
    }
    this.keep(samples, markers);
    this.post({ type: 'timeline/append', samples, markers, workers });
  }

  setBaseline(baseline: TimelineBaseline | undefined): void {
    this.baseline = baseline;
    this.post({ type: 'timeline/baseline', baseline: baseline ?? null });
  }

  private keep(samples: TimelineSample[], markers: TimelineMarker[]): void {
    this.samples.push(...samples);
    for (const s of samples) this.perWorker.set(s.workerId, (this.perWorker.get(s.workerId) ?? 0) + 1);
    // Compact only when some worker is well over the cap, so appends stay O(new samples).
    if ([...this.perWorker.values()].some(n => n > MAX_SAMPLES_PER_WORKER * 1.25)) {
      const seen = new Map<string, number>();
      const kept: TimelineSample[] = [];
      for (let i = this.samples.length - 1; i >= 0; i--) {
        const s = this.samples[i];
        const n = seen.get(s.workerId) ?? 0;
        if (n < MAX_SAMPLES_PER_WORKER) { kept.push(s); seen.set(s.workerId, n + 1); }
      }
      this.samples = kept.reverse();
      this.perWorker.clear();
      for (const [k, v] of seen) this.perWorker.set(k, v);
    }
    this.markers.push(...markers);
    if (this.markers.length > MAX_MARKERS * 1.25) this.markers.splice(0, this.markers.length - MAX_MARKERS);
  }

  private snapshot(): TimelineState {
    return { workers: this.workers, samples: this.samples, markers: this.markers, ...(this.baseline ? { baseline: this.baseline } : {}) };
  }

  protected stateMessages(): HostToWebviewMessage[] {
    return [{ type: 'timeline/state', state: this.snapshot() }];
  }

  protected handle(_m: WebviewToHostMessage): unknown {
    return undefined; // the timeline only reads; nothing to forward yet
  }
}
