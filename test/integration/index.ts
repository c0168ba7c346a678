// Entry point VS Code's extension host calls (extensionTestsPath): runs every
// out/test/integration/**/*.test.js with mocha and prints "N passed, N failed".
import fs from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';

function testFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? testFiles(p) : e.name.endsWith('.test.js') ? [p] : [];
  });
}

export function run(): Promise<void> {
  // WL_INTEGRATION_GREP (from test/e2e/run.js): only the suites/tests whose title matches, for narrow runs.
  const grep = process.env.WL_INTEGRATION_GREP;
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 120000, reporter: 'spec', ...(grep ? { grep } : {}) });
  for (const f of testFiles(__dirname).sort()) mocha.addFile(f);
  return new Promise((resolve, reject) => {
    const runner = mocha.run(failures => {
      console.log(`${runner.stats?.passes ?? 0} passed, ${failures} failed`);
      if (failures > 0) reject(new Error(`${failures} integration test(s) failed`)); else resolve();
    });
  });
}
