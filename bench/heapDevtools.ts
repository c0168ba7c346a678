// Chrome DevTools' own heap snapshot loader (chrome-devtools-frontend on npm, TypeScript sources),
// fetched with `npm pack` into the bench cache and bundled with esbuild for Node. Node 20 lacks
// Promise.withResolvers and the package lacks its generated locales.js: both are stubbed for the bench.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as esbuild from 'esbuild';
import { CACHE_DIR } from './heapSnapshotGen';

const VERSION = '1.0.1705227';

const ENTRY = `
import './polyfill.js';
import {HeapSnapshotLoader} from './package/front_end/entrypoints/heap_snapshot_worker/HeapSnapshotLoader.js';
import {SecondaryInitManager} from './package/front_end/entrypoints/heap_snapshot_worker/HeapSnapshot.js';
export async function load(chunks) {
  const loader = new HeapSnapshotLoader({ sendEvent() {} });
  for await (const c of chunks) loader.write(c);
  loader.close();
  const channel = new MessageChannel();
  new SecondaryInitManager(channel.port2);
  const snapshot = await loader.buildSnapshot(channel.port1);
  channel.port1.close(); channel.port2.close();
  return snapshot;
}
`;
const POLYFILL = `if (!Promise.withResolvers) Promise.withResolvers = () => { let resolve, reject; const promise = new Promise((a, b) => { resolve = a; reject = b; }); return { promise, resolve, reject }; };`;

/** Path of the bundled loader module (ESM), or an explanation of why it is unavailable. */
export async function devtoolsLoader(log: (m: string) => void): Promise<{ module: string } | { error: string }> {
  const dir = path.join(CACHE_DIR, `devtools-${VERSION}`);
  const bundle = path.join(dir, 'loader.mjs');
  if (fs.existsSync(bundle)) return { module: bundle };
  try {
    fs.mkdirSync(dir, { recursive: true });
    if (!fs.existsSync(path.join(dir, 'package'))) {
      log(`fetching chrome-devtools-frontend@${VERSION} with npm pack (once)…`);
      const tgz = execFileSync('npm', ['pack', `chrome-devtools-frontend@${VERSION}`, '--silent'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').pop() as string;
      execFileSync('tar', ['xzf', tgz], { cwd: dir });
      fs.rmSync(path.join(dir, tgz));
    }
    fs.writeFileSync(path.join(dir, 'entry.js'), ENTRY);
    fs.writeFileSync(path.join(dir, 'polyfill.js'), POLYFILL);
    const stubLocales: esbuild.Plugin = { name: 'stub-locales', setup(b) {
      b.onResolve({ filter: /\/locales\.js$/ }, a => ({ path: a.path, namespace: 'stub' }));
      b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ loader: 'js', contents: "export const LOCALES=['en-US'];export const BUNDLED_LOCALES=['en-US'];export const DEFAULT_LOCALE='en-US';export const REMOTE_FETCH_PATTERN='';export const LOCAL_FETCH_PATTERN='';" }));
    } };
    await esbuild.build({ entryPoints: [path.join(dir, 'entry.js')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: bundle, logLevel: 'silent', plugins: [stubLocales] });
    return { module: bundle };
  } catch (e) {
    return { error: `chrome-devtools-frontend unavailable: ${(e as Error).message.split('\n')[0]}` };
  }
}
