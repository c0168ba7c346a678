// PLACEHOLDER until its issue lands: replaced by the real command.
import { CliCommand, CliError } from './command';

export const lintCommand: CliCommand = {
  name: 'lint',
  summary: '(not available yet)',
  usage: 'workerlens lint',
  run: () => Promise.reject(new CliError('not available in this build')),
};
