// `workerlens stacks --pid PID`: every thread's stack, state, task and waits-for, of a worker and
// (for a Celery main process) its pool children — from the agent, or read from outside when the
// agent cannot answer. Reaching workers is src/cdp/threadStacks.ts (the Threads view uses it too).
import fs from 'node:fs';
import { CliCommand, CliError, CliIO, UsageError } from './command';
import { childProcesses, processLabel, ProcessStacks, readProcessStacks } from '../cdp/threadStacks';
import { readDiscoveryFile } from '../cdp/discovery';
import { deadlockSummary, sortThreads, sourceLabel, stateLabel, taskSummary, threadsById, threadTitle, waitSummary } from '../model/threads';

export const STACKS_USAGE = `Usage:
  workerlens stacks --pid PID [--format text|json] [--via auto|agent|outside] [--no-children]

Every thread's Python stack, what it waits on and who holds that, deadlocks, and the Celery task
it runs against its time limits. A main process brings its pool children.
  --via auto       the agent first; read from outside (/proc/PID/mem with the worker's own
                   interpreter, never stopping it) when there is no agent or it cannot answer
  --via agent      the agent only;  --via outside: the outside read only
  --no-children    only PID itself
  --format F       text (default) or json`;

interface StacksArgs { pid: number; format: 'text' | 'json'; via: 'auto' | 'agent' | 'outside'; children: boolean }

function parseArgs(argv: string[]): StacksArgs {
  const a: Partial<StacksArgs> = { format: 'text', via: 'auto', children: true };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    const v = () => { const x = argv[++i]; if (x === undefined) throw new UsageError(`${f} needs a value`); return x; };
    if (f === '--pid') { const p = Number(v()); if (!Number.isInteger(p) || p <= 0) throw new UsageError('--pid needs a process id'); a.pid = p; }
    else if (f === '--format') { const x = v(); if (x !== 'text' && x !== 'json') throw new UsageError('--format is text or json'); a.format = x; }
    else if (f === '--via') { const x = v(); if (x !== 'auto' && x !== 'agent' && x !== 'outside') throw new UsageError('--via is auto, agent or outside'); a.via = x; }
    else if (f === '--no-children') a.children = false;
    else throw new UsageError(`unknown option ${f}`);
  }
  if (!a.pid) throw new UsageError('--pid is required');
  return a as StacksArgs;
}

export function stacksText(list: ProcessStacks[]): string {
  const out: string[] = [];
  for (const p of list) {
    out.push(`== ${p.label}`);
    if (!p.result) {
      out.push(`   no stacks: ${p.error}${p.agentError && p.agentError !== p.error ? ` (agent: ${p.agentError})` : ''}`, '');
      continue;
    }
    const r = p.result;
    out.push(`   ${r.threads.length} threads, ${sourceLabel(r)}${p.agentError ? ` — the agent did not answer: ${p.agentError}` : ''}`);
    const byId = threadsById(r);
    for (const d of r.deadlocks ?? []) out.push(`   !! ${deadlockSummary(d, byId)}`);
    for (const n of r.notes ?? []) out.push(`   note: ${n}`);
    for (const t of sortThreads(r)) {
      out.push('', `   Thread ${threadTitle(t)}${t.daemon ? ' daemon' : ''} — ${stateLabel(t)}`);
      if (t.task) out.push(`     task ${taskSummary(t.task)}`);
      if (t.waitsOn) out.push(`     ${waitSummary(t.waitsOn, byId)}`);
      for (const h of t.holds ?? []) out.push(`     holds \`${h.expression}\` (${h.object.kind} 0x${h.object.id.toString(16)}) since ${h.url}:${h.lineNumber + 1}`);
      for (const f of t.frames) out.push(`       ${f.functionName} (${f.url}:${f.lineNumber + 1})`);
      if (t.framesTruncated) out.push('       …');
      if (t.readNote) out.push(`       (${t.readNote})`);
    }
    out.push('');
  }
  return out.join('\n') + '\n';
}

export const stacksCommand: CliCommand = {
  name: 'stacks',
  summary: 'thread stacks, waits-for and deadlocks of a worker (and its pool children)',
  usage: STACKS_USAGE,
  async run(argv: string[], io: CliIO): Promise<number> {
    const args = parseArgs(argv);
    if (!fs.existsSync(`/proc/${args.pid}`)) throw new CliError(`no process with pid ${args.pid}`);
    const d = await readDiscoveryFile(args.pid);
    const targets = [{ pid: args.pid, discovery: d }];
    if (args.children) targets.push(...await childProcesses(args.pid));
    const list = await Promise.all(targets.map(t => readProcessStacks(t.pid, processLabel(t.pid, t.discovery), { discovery: t.discovery, via: args.via })));
    io.stdout(args.format === 'json' ? JSON.stringify({ processes: list }, null, 2) + '\n' : stacksText(list));
    return list.every(p => !p.result) ? 1 : 0;
  },
};
