// Flight-recorder reports as read-only text documents (scheme workerlens-report), the same text
// `workerlens reports --pid` prints; and the command that opens one (a file, or a quick pick).
import * as vscode from 'vscode';
import fs from 'node:fs/promises';
import path from 'node:path';
import { exitText, formatReport, parseReport, processTitle, sortEntries } from '../model/reports';
import { pidAlive, ReportReader, reportDirs } from '../cdp/reportFiles';

export const REPORT_SCHEME = 'workerlens-report';

export function reportUri(file: string, title: string): vscode.Uri {
  return vscode.Uri.from({ scheme: REPORT_SCHEME, path: `/${title.replace(/[^\w.-]+/g, '-')}.txt`, query: encodeURIComponent(file) });
}

class ReportContent implements vscode.TextDocumentContentProvider {
  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const file = decodeURIComponent(uri.query);
    let text: string;
    try { text = await fs.readFile(file, 'utf8'); } catch (e) {
      return `Cannot read the report ${file}: ${(e as Error).message}\n(Reports of exited processes are pruned: the newest 50 are kept, for 7 days.)\n`;
    }
    const p = parseReport(text);
    if (!p.report) return `${path.basename(file)} is skipped: ${p.note}.\n`;
    return formatReport({ file, report: p.report, alive: !p.report.exit && pidAlive(p.report.pid) });
  }
}

export function registerReportDocuments(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(REPORT_SCHEME, new ReportContent()),
    vscode.commands.registerCommand('workerLens.openReport', async (file?: string) => {
      if (typeof file !== 'string') {
        const { entries, notes } = await new ReportReader().list(reportDirs());
        for (const n of notes) log.warn(`Reports: ${n}`);
        if (!entries.length) {
          void vscode.window.showInformationMessage('No flight-recorder reports yet. Workers started with --workerlens or --workerlens-metrics write them.');
          return;
        }
        const pick = await vscode.window.showQuickPick(sortEntries(entries).map(e => ({
          label: `${processTitle(e.report)} · pid ${e.report.pid}`, description: e.report.workerName ?? '', detail: exitText(e), file: e.file,
        })), { title: 'Worker Lens: flight-recorder reports', matchOnDescription: true, matchOnDetail: true });
        if (!pick) return;
        file = pick.file;
      }
      const doc = await vscode.workspace.openTextDocument(reportUri(file, `report-${path.basename(file, '.json')}`));
      await vscode.window.showTextDocument(doc, { preview: true });
    }),
  );
}
