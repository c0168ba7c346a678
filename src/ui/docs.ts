// Opens the bundled README (the user documentation) in VS Code's Markdown preview, so help works
// offline and matches the installed version. Sections are README anchors (`attach`, `ptrace`, ...).
import * as vscode from 'vscode';

export async function openDocs(extensionUri: vscode.Uri, section?: string): Promise<void> {
  const readme = vscode.Uri.joinPath(extensionUri, 'README.md');
  await vscode.commands.executeCommand('markdown.showPreview', section ? readme.with({ fragment: section }) : readme);
}
