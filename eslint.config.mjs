import tseslint from 'typescript-eslint';

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
  {
    // Layering: only src/ui and src/extension.ts may import vscode; pure code imports no I/O layers.
    files: ['src/common/**', 'src/protocol/**', 'src/cdp/**', 'src/model/**', 'src/analysis/**', 'src/server/**', 'src/cli/**', 'src/webview/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'vscode is imported only in src/ui and src/extension.ts' }] }] },
  },
  {
    files: ['src/model/**', 'src/analysis/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'model/ and analysis/ are pure' }],
        patterns: [{ group: ['**/ui/**', '**/cdp/**', '**/server/**', '**/cli/**'], message: 'model/ and analysis/ import nothing from ui/, cdp/, server/ or cli/' }],
      }],
    },
  },
);
