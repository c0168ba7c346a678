// The extension activates in a real VS Code and contributes what the manifest promises.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

const ID = 'workerlens.workerlens';

suite('activation', () => {
  test('activates and registers its commands', async () => {
    const ext = vscode.extensions.getExtension(ID);
    assert.ok(ext, `extension ${ID} is installed`);
    await ext.activate();
    assert.equal(ext.isActive, true);
    const commands = await vscode.commands.getCommands(true);
    for (const c of ['workerLens.attach', 'workerLens.refreshWorkers', 'workerLens.showLog']) {
      assert.ok(commands.includes(c), `command ${c} registered`);
    }
  });

  test('refresh finds no worker or real ones, without throwing', async () => {
    await vscode.commands.executeCommand('workerLens.refreshWorkers');
  });

  test('settings section is contributed with defaults', () => {
    const cfg = vscode.workspace.getConfiguration('workerLens');
    assert.equal(cfg.get('heap.refreshInterval'), 2);
    assert.equal(cfg.get('races.enabled'), true);
  });
});
