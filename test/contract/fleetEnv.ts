// Starts test/fixtures/fleet/fleet_env.py (real redis-server, real Celery workers, some in network
// namespaces) and stops it: closing its stdin makes it remove everything it made, by pid and name.
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
export const FLEET_ENV = path.join(ROOT, 'test/fixtures/fleet/fleet_env.py');
export const PYTHON = '/usr/bin/python3';

export interface FleetEnvInfo {
  broker: string; hosts: string[]; xdg: string; tunnelCommand: string;
  workers: { node: string; host: string | null; pid: number; queue: string | null; children: number; childPids?: number[] }[];
}

/** null when the fleet can be made here, else why not (for test skips). */
export function whyNoFleet(): string | null {
  if (!fs.existsSync(PYTHON)) return 'needs /usr/bin/python3';
  const r = spawnSync(PYTHON, ['-c', `import sys; sys.path.insert(0, ${JSON.stringify(path.dirname(FLEET_ENV))}); import celery, redis, fleet_env; print(fleet_env.can_make_hosts() or '')`], { encoding: 'utf8' });
  if (r.status !== 0) return 'needs /usr/bin/python3 with celery and redis';
  return r.stdout.trim() || null;
}

export class FleetEnv {
  private constructor(private readonly child: ChildProcess, readonly info: FleetEnvInfo) {}

  static start(args: string[] = [], timeoutMs = 180_000): Promise<FleetEnv> {
    return new Promise((resolve, reject) => {
      const child = spawn(PYTHON, [FLEET_ENV, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '', err = '';
      const timer = setTimeout(() => { child.stdin?.end(); reject(new Error(`fleet_env did not come up: ${err.slice(-500)}`)); }, timeoutMs);
      child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const nl = out.indexOf('\n');
        if (nl >= 0) { clearTimeout(timer); resolve(new FleetEnv(child, JSON.parse(out.slice(0, nl)) as FleetEnvInfo)); }
      });
      child.on('exit', code => { clearTimeout(timer); reject(new Error(`fleet_env exited (${code}): ${err.slice(-800)}`)); });
    });
  }

  /** Sends tasks from a producer on the root namespace's broker address. */
  send(code: string): void {
    const r = spawnSync(PYTHON, ['-c', code], { cwd: path.join(ROOT, 'examples/celery-leaky'), env: { ...process.env, CELERY_BROKER_URL: this.info.broker, PYTHONPATH: path.join(ROOT, 'agent') }, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`producer failed: ${r.stderr}`);
  }

  stop(): Promise<void> {
    return new Promise(resolve => {
      if (this.child.exitCode !== null) { resolve(); return; }
      const timer = setTimeout(() => { this.child.kill('SIGKILL'); resolve(); }, 30_000);
      this.child.on('exit', () => { clearTimeout(timer); resolve(); });
      this.child.stdin?.end();
    });
  }
}
