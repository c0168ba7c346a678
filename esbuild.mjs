// Bundles: extension host, language server, CLI (Node, CJS) and webview scripts (browser, IIFE).
// `--production` minifies and drops source maps; `--watch` rebuilds on change.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', legalComments: 'none' };

const nodeBuild = {
  ...common,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['vscode'],
  entryPoints: {
    extension: 'src/extension.ts',
    server: 'src/server/main.ts',
    cli: 'src/cli/main.ts',
    // the heap worker thread (src/heapWorker/client.ts starts it from dist/heapWorker.js)
    heapWorker: 'src/heapWorker/main.ts',
  },
  outdir: 'dist',
};

// Browser code for webview panels: every src/webview/*Main.ts is one panel script.
const webviewEntries = fs.readdirSync('src/webview').filter(f => f.endsWith('Main.ts')).map(f => path.join('src/webview', f));
const webviewBuild = { ...common, platform: 'browser', target: 'es2022', format: 'iife', entryPoints: webviewEntries, outdir: 'dist/webview' };

// Files loaded at run time rather than bundled (parser wasm).
const assets = [
  ['node_modules/web-tree-sitter/web-tree-sitter.wasm', 'dist/web-tree-sitter.wasm'],
  ['node_modules/tree-sitter-python/tree-sitter-python.wasm', 'dist/tree-sitter-python.wasm'],
];

function copyAssets() {
  fs.mkdirSync('dist', { recursive: true });
  for (const [from, to] of assets) fs.copyFileSync(from, to);
}

async function main() {
  copyAssets();
  const builds = [nodeBuild, ...(webviewEntries.length ? [webviewBuild] : [])];
  if (watch) {
    for (const b of builds) await (await esbuild.context(b)).watch();
    return;
  }
  await Promise.all(builds.map(b => esbuild.build(b)));
  // The CLI is run directly as `workerlens`: give it a shebang and the executable bit.
  const cli = 'dist/cli.js';
  const text = fs.readFileSync(cli, 'utf8');
  if (!text.startsWith('#!')) fs.writeFileSync(cli, '#!/usr/bin/env node\n' + text);
  fs.chmodSync(cli, 0o755);
}

main().catch(e => { console.error(e.message ?? e); process.exit(1); });
