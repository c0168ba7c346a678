#!/usr/bin/env node
// The demo: redis-server, the example Celery worker (prefork, 2 children, agent on), its producer,
// and code-server with the packaged extension installed and the example folder open.
// Ctrl-C (or SIGTERM) stops every process group it started. State lives in .workerlens-demo/.
'use strict';
const fs = require('fs');
const path = require('path');
const stack = require('./lib/stack');

async function main() {
  const state = path.join(stack.root, '.workerlens-demo');
  fs.rmSync(state, { recursive: true, force: true });
  fs.mkdirSync(state, { recursive: true });
  const tools = stack.toolPaths();
  console.log('[demo] packaging the extension');
  const vsix = stack.packageVsix();
  const extensionsDir = path.join(state, 'extensions');
  stack.installVsix(tools.codeServer, tools.node24Bin, state, vsix, extensionsDir);
  const workspace = path.join(stack.root, 'examples', 'celery-leaky');
  const redis = await stack.startRedis(state);
  console.log(`[demo] redis-server on ${redis.url}`);
  const worker = stack.startCelery(state, workspace, redis.url);
  await stack.waitFor('the Celery worker to be ready', () => {
    const dead = stack.exitedWith(worker); if (dead) throw new Error(dead);
    return /ready\./.test(fs.readFileSync(worker.logFile, 'utf8'));
  }, 60000, 200);
  console.log(`[demo] celery worker (prefork, 2 children, agent on): pid ${worker.child.pid}, log ${worker.logFile}`);
  stack.startProducer(state, workspace, redis.url, 5);
  console.log('[demo] producer sending leak / count_order / cached_price tasks, 5 batches per second');
  const port = +(process.env.PORT || 0) || await stack.freePort();
  // A newcomer lands on the example's README: what the worker does wrong and what to click first.
  await stack.startCodeServer({ ...tools, tmp: state, port, extensionsDir, settings: { 'workbench.startupEditor': 'readme' } });
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
  console.log(`\n  Worker Lens demo is running. Open:\n\n    ${url}\n\n  Ctrl-C stops Redis, the worker, the producer and code-server.\n`);
  if (process.env.WORKERLENS_DEMO_URL_FILE) fs.writeFileSync(process.env.WORKERLENS_DEMO_URL_FILE, url);
}

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  console.log('\n[demo] stopping');
  await stack.stopAll();
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
main().catch(e => { console.error(`[demo] ${e.message}`); void stop(1); });
setInterval(() => { }, 1 << 30); // stay alive until a signal
