// Race squiggles in a real VS Code: tasks.py of the example workspace gets WL101 on the racy
// counter (and WL102 on the price cache), and the quick fix removes it. The fix is applied to
// the in-memory document only and reverted: the file on disk is never modified.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

const ID = 'workerlens.workerlens';

function codeOf(d: vscode.Diagnostic): string {
  return typeof d.code === 'object' && d.code ? String(d.code.value) : String(d.code);
}

async function waitFor<T>(what: string, probe: () => T | undefined, ms = 60000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise(r => setTimeout(r, 100));
  }
}

suite('race squiggles', () => {
  let uri: vscode.Uri;
  let doc: vscode.TextDocument;
  const lineOf = (needle: string) => doc.getText().split(/\r?\n/).findIndex(l => l.includes(needle));
  const wl = (rule: string, line: number) => vscode.languages.getDiagnostics(uri).find(d => codeOf(d) === rule && d.range.start.line === line);

  suiteSetup(async () => {
    // VS Code for the Web (code-server) auto-saves after 1 s by default: a slow run saved the quick
    // fix to disk before the revert, and the finding never came back. This suite edits in memory only.
    await vscode.workspace.getConfiguration('files').update('autoSave', 'off', vscode.ConfigurationTarget.Global);
    await vscode.extensions.getExtension(ID)?.activate();
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'the example workspace is open');
    uri = vscode.Uri.joinPath(folder.uri, 'tasks.py');
    doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
  });

  suiteTeardown(async () => {
    if (doc?.isDirty) {
      await vscode.window.showTextDocument(doc);
      await vscode.commands.executeCommand('workbench.action.files.revert');
    }
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.workspace.getConfiguration('files').update('autoSave', undefined, vscode.ConfigurationTarget.Global);
  });

  test('flags the read-modify-write of processed_count and the price-cache check-then-act', async () => {
    assert.equal(doc.languageId, 'python');
    const counter = lineOf('processed_count += 1');
    const d = await waitFor('WL101 on the counter line', () => wl('WL101', counter));
    assert.equal(d.severity, vscode.DiagnosticSeverity.Warning);
    assert.equal(d.source, 'Worker Lens');
    assert.match(d.message, /^Read-modify-write of module global `processed_count` without a lock: with the threads pool concurrent tasks lose updates/);
    assert.match(d.message, /prefork each child process has its own copy/);
    assert.equal(doc.getText(d.range), 'processed_count += 1');
    assert.ok(typeof d.code === 'object' && d.code.target.toString().includes('#wl101-'), 'code links to the docs');
    assert.equal(d.relatedInformation?.[0].location.range.start.line, counter);
    const cache = lineOf('_price_cache[sku] = _compute_price(sku)');
    const c = await waitFor('WL102 on the cache line', () => wl('WL102', cache));
    assert.equal(c.relatedInformation?.[0].location.range.start.line, lineOf('if sku not in _price_cache'));
  });

  test("prefork (the workspace's Procfile): the first quick fix keeps the counter in Redis; the hover names the pool", async () => {
    const counter = lineOf('processed_count += 1');
    const d = await waitFor('WL101', () => wl('WL101', counter));
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, d.range);
    const titles = actions.map(a => a.title);
    assert.match(titles[0], /^Keep `processed_count` in Redis: `_redis\.incr\("processed_count"\)`/, titles.join(' | '));
    assert.equal(actions[0].isPreferred, true);
    const lock = titles.findIndex(t => t.includes('threading.Lock'));
    assert.ok(lock > 0 && /prefork processes do not share it/.test(titles[lock]), `the lock after the Redis fix, with its caveat: ${titles.join(' | ')}`);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(counter, 6));
    const text = hovers.flatMap(h => h.contents.map(c => (typeof c === 'string' ? c : (c as vscode.MarkdownString).value))).join('\n');
    assert.match(text, /Pool: \*\*prefork\*\*, from Procfile line 1 \(`--pool prefork`\)/, text);
    assert.ok(await vscode.workspace.applyEdit(actions[0].edit!));
    assert.match(doc.getText(), /^ {4}processed_count = _redis\.incr\("processed_count"\)$/m);
    await waitFor('WL101 gone after the Redis fix', () => (vscode.languages.getDiagnostics(uri).some(x => codeOf(x) === 'WL101') ? undefined : true));
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await waitFor('WL101 back after revert', () => wl('WL101', lineOf('processed_count += 1')));
  });

  test('the quick fix wraps the counter in a new lock and the squiggle goes away', async () => {
    const counter = lineOf('processed_count += 1');
    const d = await waitFor('WL101', () => wl('WL101', counter));
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, d.range);
    const titles = actions.map(a => a.title);
    const fix = actions.find(a => a.title.startsWith('Wrap in `with _processed_count_lock:`'));
    assert.ok(fix?.edit, `a lock quick fix among: ${titles.join(' | ')}`);
    assert.ok(titles.includes('Suppress WL101 on this line'));
    assert.ok(await vscode.workspace.applyEdit(fix.edit));
    assert.equal(doc.isDirty, true);
    assert.match(doc.getText(), /_processed_count_lock = threading\.Lock\(\)/);
    assert.match(doc.getText(), /with _processed_count_lock:\n {8}processed_count \+= 1/);
    await waitFor('WL101 gone', () => (vscode.languages.getDiagnostics(uri).some(x => codeOf(x) === 'WL101') ? undefined : true));
    assert.ok(vscode.languages.getDiagnostics(uri).some(x => codeOf(x) === 'WL102'), 'the other finding stays');

    // Back to the file on disk: the finding returns.
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    assert.equal(doc.isDirty, false);
    try {
      await waitFor('WL101 back after revert', () => wl('WL101', lineOf('processed_count += 1')));
    } catch (e) {
      // Say what the editor had when it failed: the document and the diagnostics it holds.
      const diags = vscode.languages.getDiagnostics(uri).map(x => `${codeOf(x)}@${x.range.start.line + 1}`).join(',');
      throw new Error(`${(e as Error).message}; doc v${doc.version} dirty=${doc.isDirty} counter line ${lineOf('processed_count += 1') + 1}, lock line ${lineOf('_processed_count_lock') + 1}; diagnostics: ${diags || 'none'}`);
    }
  });
});
