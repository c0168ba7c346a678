import tseslint from 'typescript-eslint';

/** Packages allowed only in some places of src/. */
const confined = [
  { paths: ['vscode'], allowed: ['src/ui/**', 'src/extension.ts'], message: 'vscode is imported only in src/ui and src/extension.ts' },
  { patterns: ['chrome-remote-interface'], allowed: ['src/cdp/**'], message: 'chrome-remote-interface lives only in src/cdp (use CdpClient / connectWorker)' },
  { patterns: ['d3', 'd3-*'], allowed: ['src/webview/**'], message: 'd3 runs only in the webviews (src/webview)' },
  { patterns: ['vscode-languageserver', 'vscode-languageserver/*', 'vscode-languageserver-*', 'vscode-languageclient', 'vscode-languageclient/*', 'vscode-jsonrpc', 'vscode-jsonrpc/*'],
    allowed: ['src/server/**', 'src/ui/languageClient.ts'], message: 'the language-server packages live only in src/server and src/ui/languageClient.ts' },
];
const pureLayers = { group: ['**/ui/**', '**/cdp/**', '**/server/**', '**/cli/**', '**/heapWorker/**'], message: 'model/ and analysis/ are pure: they import nothing from ui/, cdp/, server/, cli/ or heapWorker/' };
// Most specific last: the last block whose `files` match a file decides its rule.
const zones = ['src/**', 'src/ui/**', 'src/extension.ts', 'src/ui/languageClient.ts', 'src/cdp/**', 'src/webview/**', 'src/server/**', 'src/model/**', 'src/analysis/**'];

function layeringBlocks() {
  return zones.map(zone => {
    const here = confined.filter(c => !c.allowed.includes(zone) && !(zone === 'src/ui/languageClient.ts' && c.allowed.includes('src/ui/**')));
    const paths = here.flatMap(c => (c.paths ?? []).map(name => ({ name, message: c.message })));
    const patterns = here.filter(c => c.patterns).map(c => ({ group: c.patterns, message: c.message }));
    if (zone === 'src/model/**' || zone === 'src/analysis/**') patterns.push(pureLayers);
    return { files: [zone], rules: { 'no-restricted-imports': ['error', { paths, patterns }] } };
  });
}

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'test-results/**', 'examples/**', 'agent/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': 'off',
    },
  },
  // Layering (DESIGN.md): each package stays in its folder; pure code imports no I/O layer. One
  // block per zone because a later flat-config block replaces the rule rather than merging it.
  ...layeringBlocks(),
);
