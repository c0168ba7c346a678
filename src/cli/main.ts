// `workerlens` — the headless CLI: the same model/ and analysis/ as the extension, for CI.
import { CliCommand, CliError, CliIO, UsageError } from './command';
import { heapCommand } from './heapCommand';
import { lintCommand } from './lintCommand';
import { fleetCommand } from './fleetCommand';
import { stacksCommand } from './stacksCommand';
import { reportsCommand } from './reportsCommand';
import { VERSION } from '../common/version';

const COMMANDS: CliCommand[] = [heapCommand, lintCommand, fleetCommand, stacksCommand, reportsCommand];

function help(): string {
  return ['Usage: workerlens <command> [options]', '', 'Commands:',
    ...COMMANDS.map(c => `  ${c.name.padEnd(8)} ${c.summary}`), '', 'Run `workerlens <command> --help` for its options.'].join('\n') + '\n';
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') { io.stdout(help()); return name ? 0 : 2; }
  if (name === '--version') { io.stdout(`${VERSION}\n`); return 0; }
  const cmd = COMMANDS.find(c => c.name === name);
  if (!cmd) { io.stderr(`workerlens: unknown command '${name}'\n${help()}`); return 2; }
  if (rest.includes('--help') || rest.includes('-h')) { io.stdout(cmd.usage + '\n'); return 0; }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) { io.stderr(`workerlens ${cmd.name}: ${e.message}\n${cmd.usage}\n`); return 2; }
    if (e instanceof CliError) { io.stderr(`workerlens ${cmd.name}: ${e.message}\n`); return 1; }
    // Unexpected: still one line, no stack trace unless asked for.
    const msg = e instanceof Error ? e.message : String(e);
    io.stderr(`workerlens ${cmd.name}: internal error: ${msg}${process.env.WORKERLENS_DEBUG ? '\n' + (e as Error).stack : ''}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2), {
    stdout: t => process.stdout.write(t),
    stderr: t => process.stderr.write(t),
    cwd: process.cwd(),
  }).then(code => { process.exitCode = code; }, e => { process.stderr.write(`workerlens: ${String(e)}\n`); process.exitCode = 1; });
}
