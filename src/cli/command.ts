// The contract every `workerlens` subcommand implements; main.ts only dispatches.

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
}

export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  /** Resolves to the process exit code. Throwing UsageError exits 2 with its message. */
  run(args: string[], io: CliIO): Promise<number>;
}

/** A mistake in the command line: printed as one line plus the usage, exit code 2. */
export class UsageError extends Error {}

/** A failure the user can act on (bad file, unreachable worker): one line on stderr, exit code 1. */
export class CliError extends Error {}
