// Shared by the heap contract tests: a real `node --inspect=127.0.0.1:0` target and the CLI bundle.
import { spawn, ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import * as esbuild from 'esbuild';

export const ROOT = path.resolve(__dirname, '../../..');
export const CLI = path.join(ROOT, 'out/heap-cli/cli.js');

/** Bundles only the CLI entry (other entries may be mid-edit by others) to out/heap-cli/cli.js. */
export async function buildCli(): Promise<void> {
  await esbuild.build({ entryPoints: [path.join(ROOT, 'src/cli/main.ts')], bundle: true, platform: 'node', target: 'node20', format: 'cjs', outfile: CLI, logLevel: 'silent' });
}

export interface Inspectee { child: ChildProcess; wsUrl: string; hostPort: string }

/** A loopback port that was free a moment ago (for a command line that must name its port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => { const port = (srv.address() as net.AddressInfo).port; srv.close(() => resolve(port)); });
  });
}

/** Starts a Node script with the inspector on a loopback port (0 = any); resolves once it listens. */
export function startInspectee(script: string, port = 0): Promise<Inspectee> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--inspect=127.0.0.1:${port}`, script], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let err = '';
    const timer = setTimeout(() => { kill(child); reject(new Error(`inspector did not start: ${err}`)); }, 10_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /Debugger listening on (ws:\/\/([\d.]+:\d+)\/[\w-]+)/.exec(err);
      if (m) { clearTimeout(timer); resolve({ child, wsUrl: m[1], hostPort: m[2] }); }
    });
    child.on('exit', code => { clearTimeout(timer); reject(new Error(`inspectee exited (${code}): ${err}`)); });
  });
}

/** Kills a child started with detached: true (its whole process group). */
export function kill(child: ChildProcess | undefined): void {
  if (!child?.pid || child.exitCode !== null) return;
  try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
}

export interface RunResult { code: number; stdout: string; stderr: string }

export function runCli(args: string[], onStderr?: (text: string) => void): Promise<RunResult> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); onStderr?.(stderr); });
    child.on('close', code => resolve({ code: code ?? 1, stdout, stderr }));
  });
}
