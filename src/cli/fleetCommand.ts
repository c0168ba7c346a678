// `workerlens fleet`: every Celery worker on a broker, ranked by memory growth (src/cdp/fleetHelper).
import { CliCommand, CliError, CliIO, UsageError } from './command';
import { FleetError, runFleet } from '../cdp/fleetHelper';
import { checkBrokerUrl, redactBrokerUrl } from '../common/brokerUrl';
import { fleetJson, fleetText } from './fleetFormat';
import { remoteHeap } from './fleetHeap';
import { reportJson, reportText } from './heapFormat';

export const FLEET_USAGE = `Usage:
  workerlens fleet [--broker URL] [--python PATH] [--timeout SECONDS] [--format text|json]
  workerlens fleet --heap NODE[:PID] --tunnel TEMPLATE [--samples N] [--interval S] [--top N] ...

Asks every Celery worker on the broker (through Celery's own remote control) for its memory and
its pool children's, and ranks them by growth.
  --broker URL     the workers' broker (default: $WORKERLENS_BROKER_URL, which keeps a password
                   out of the process list)
  --python PATH    an interpreter with your Celery installed (default: $WORKERLENS_PYTHON or python3)
  --timeout S      seconds to wait after the last reply (default 1)
  --format F       text (default) or json
  --heap NODE[:PID]  the live heap report (as \`workerlens heap\`) of one remote process: its
                   agent token comes through the broker, the connection through --tunnel
  --tunnel T       command template that forwards 127.0.0.1:{localPort} to the worker host's
                   127.0.0.1:{port}, e.g. 'ssh -N -L {localPort}:127.0.0.1:{port} {host}'
                   (default: $WORKERLENS_TUNNEL); run without a shell, killed afterwards
Workers answer when their app calls workerlens_agent.celery.install(app) or runs with
WORKERLENS=1 and the autostart hook; their pool children answer through their agents (--workerlens).`;

export const fleetCommand: CliCommand = {
  name: 'fleet',
  summary: 'every Celery worker on a broker, with its children, ranked by memory growth',
  usage: FLEET_USAGE,
  async run(argv: string[], io: CliIO): Promise<number> {
    let broker = process.env.WORKERLENS_BROKER_URL ?? '';
    let python = process.env.WORKERLENS_PYTHON ?? 'python3';
    let timeoutS = 1, format: 'text' | 'json' = 'text';
    let heap: string | null = null, tunnel = process.env.WORKERLENS_TUNNEL ?? '', samples = 3, intervalSeconds = 2, top = 5;
    const int = (v: string, flag: string, min: number) => { const n = Number(v); if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer ≥ ${min}`); return n; };
    for (let i = 0; i < argv.length; i++) {
      const flag = argv[i];
      const value = () => { const v = argv[++i]; if (v === undefined) throw new UsageError(`${flag} needs a value`); return v; };
      if (flag === '--broker') broker = value();
      else if (flag === '--python') python = value();
      else if (flag === '--timeout') { timeoutS = Number(value()); if (!(timeoutS >= 0.1 && timeoutS <= 60)) throw new UsageError('--timeout must be between 0.1 and 60 seconds'); }
      else if (flag === '--format') { const f = value(); if (f !== 'text' && f !== 'json') throw new UsageError(`--format must be text or json, not '${f}'`); format = f; }
      else if (flag === '--heap') heap = value();
      else if (flag === '--tunnel') tunnel = value();
      else if (flag === '--samples') samples = int(value(), flag, 1);
      else if (flag === '--interval') { intervalSeconds = Number(value()); if (!(intervalSeconds >= 0)) throw new UsageError('--interval must be a number of seconds'); }
      else if (flag === '--top') top = int(value(), flag, 1);
      else throw new UsageError(`unknown option '${flag}'`);
    }
    if (!broker) throw new UsageError('no broker: pass --broker URL or set WORKERLENS_BROKER_URL');
    const bad = checkBrokerUrl(broker);
    if (bad) throw new UsageError(`'${redactBrokerUrl(broker)}' is not a broker URL: ${bad}`);
    if (heap !== null) {
      if (!tunnel) throw new UsageError('--heap needs --tunnel TEMPLATE (or $WORKERLENS_TUNNEL)');
      const progress = format === 'text' ? (m: string) => io.stderr(`${m}\n`) : () => undefined;
      let live;
      try { live = await remoteHeap({ broker, python, timeoutS, target: heap, tunnel, samples, intervalSeconds, top }, progress); } catch (e) {
        if (e instanceof FleetError) throw new CliError(e.message);
        throw e;
      }
      const ctx = { source: live.source, live: true, notes: [`reached ${live.via}`, ...live.notes] };
      io.stdout(format === 'json' ? reportJson(live.report, ctx) : reportText(live.report, ctx));
      return 0;
    }
    let state;
    try { state = await runFleet({ broker, python, timeoutS }); } catch (e) {
      if (e instanceof FleetError) throw new CliError(e.message);
      throw e;
    }
    io.stdout(format === 'json' ? fleetJson(state, redactBrokerUrl(broker)) : fleetText(state, redactBrokerUrl(broker)));
    return 0;
  },
};
