// Command line of `workerlens heap`.
import { UsageError } from './command';

export const HEAP_USAGE = `Usage:
  workerlens heap --pid PID | --connect HOST:PORT|WS_URL [--samples N] [--interval SECONDS]
                  [--format text|json] [--no-inject] [--top N] [--trim]
  workerlens heap FILE.heapsnapshot [MORE.heapsnapshot ...] [--compare BASELINE.heapsnapshot]
                  [--format text|json] [--top N]

Finds the object types that grow and shows who keeps them alive (clustered retainer paths); live,
also where the whole RSS is (Python objects, untracked str/bytes, allocator overhead, free memory
malloc holds, native memory), the containers that grow (with their path) and a verdict in words.
A prefork main is sampled with its pool children (those running an agent) and the answer names the
child where the leak is.
  --pid PID          a Python worker: uses its Worker Lens agent (discovery file), injecting it
                     with ptrace when the worker was started without it (unless --no-inject);
                     a Node process: its inspector (--inspect), or opened with SIGUSR1 as VS
                     Code's debugger does (unless --no-inject)
  --connect TARGET   any CDP endpoint: a Node process started with --inspect (HOST:PORT) or a
                     ws:// URL (an agent's URL carries its token)
  --samples N        samples to take (default 3; 1 = no growth, just the largest types)
  --interval S       seconds between samples (default 2)
  --compare FILE     offline: the earlier snapshot to compare FILE against
  --top N            suspects to show (default 5)
  --trim             after sampling, call malloc_trim(0) in the worker (each pool child too) and
                     report how much RSS came back: the proof that it was fragmentation
  --format F         text (default) or json`;

export interface HeapArgs {
  files: string[];
  compare: string | null;
  pid: number | null;
  connect: string | null;
  samples: number;
  intervalSeconds: number;
  format: 'text' | 'json';
  inject: boolean;
  top: number;
  trim: boolean;
}

export function parseHeapArgs(argv: string[]): HeapArgs {
  const a: HeapArgs = { files: [], compare: null, pid: null, connect: null, samples: 3, intervalSeconds: 2, format: 'text', inject: true, top: 5, trim: false };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || (v.startsWith('--') && v.length > 2)) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  const int = (v: string, flag: string, min: number): number => {
    if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`${flag} must be a whole number ≥ ${min}, not '${v}'`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline: string | null = null;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) { inline = arg.slice(eq + 1); arg = arg.slice(0, eq); }
    const take = () => { if (inline !== null) return inline; const v = value(i, arg); i++; return v; };
    switch (arg) {
      case '--pid': a.pid = int(take(), '--pid', 1); break;
      case '--connect': a.connect = take(); break;
      case '--samples': a.samples = int(take(), '--samples', 1); break;
      case '--interval': {
        const v = take();
        if (!/^\d+(\.\d+)?$/.test(v) || Number(v) > 3600) throw new UsageError(`--interval must be seconds between 0 and 3600, not '${v}'`);
        a.intervalSeconds = Number(v);
        break;
      }
      case '--format': {
        const v = take();
        if (v !== 'text' && v !== 'json') throw new UsageError(`--format must be text or json, not '${v}'`);
        a.format = v;
        break;
      }
      case '--compare': a.compare = take(); break;
      case '--top': a.top = int(take(), '--top', 1); break;
      case '--no-inject': a.inject = false; break;
      case '--trim': a.trim = true; break;
      default:
        if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option '${arg}'`);
        a.files.push(arg);
    }
  }
  const modes = [a.files.length > 0, a.pid !== null, a.connect !== null].filter(Boolean).length;
  if (modes === 0) throw new UsageError('give --pid PID, --connect HOST:PORT, or a .heapsnapshot file');
  if (modes > 1) throw new UsageError('give only one of --pid, --connect or snapshot files');
  if (a.compare !== null && a.files.length === 0) throw new UsageError('--compare goes with a snapshot file');
  if (a.trim && a.files.length > 0) throw new UsageError('--trim goes with --pid or --connect (a live worker)');
  return a;
}
