// PLACEHOLDER until its issue lands: replaced by the real command.
import { CliCommand, CliError } from './command';

export const heapCommand: CliCommand = {
  name: 'heap',
  summary: '(not available yet)',
  usage: 'workerlens heap',
  run: () => Promise.reject(new CliError('not available in this build')),
};
