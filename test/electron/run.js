#!/usr/bin/env node
// For users whose CI can download desktop VS Code: runs the extension-host suites of
// out/test/integration in VS Code via @vscode/test-electron. (Not used here: these machines cannot
// reach the VS Code download servers; `npm test` runs the same suites in code-server instead.)
'use strict';
const path = require('path');
const { runTests } = require('@vscode/test-electron');

const root = path.resolve(__dirname, '..', '..');
runTests({
  extensionDevelopmentPath: root,
  extensionTestsPath: path.join(root, 'out', 'test', 'integration', 'index'),
  launchArgs: [path.join(root, 'examples', 'celery-leaky'), '--disable-extensions', '--disable-workspace-trust'],
  version: process.env.VSCODE_VERSION || '1.95.0',
}).catch(e => { console.error(`VS Code tests failed: ${e.message || e}`); process.exit(1); });
