// `workerlens lint PATH... [--format text|json|sarif] [--disable WL102,...] [--pool NAME]`: the race
// analysis headless, for CI. Exit 0 clean, 1 findings (or unreadable files), 2 usage errors.
import fs from 'node:fs';
import path from 'node:path';
import { CliCommand, UsageError } from './command';
import { DEFAULT_EXCLUDE } from '../analysis/exclude';
import { listPythonFiles, lintFiles } from '../analysis/project';
import { PoolHit, PoolInfo, PoolSetting } from '../analysis/workerPool';
import { cliPoolHits, parsePoolOption, poolFolders, relName } from './lintPool';
import { countFindings, formatJson, formatSarif, formatText } from '../analysis/report';
import { RULE_IDS } from '../analysis/rules';
import { VERSION } from '../common/version';

const FORMATS = ['text', 'json', 'sarif'] as const;
type Format = typeof FORMATS[number];

const USAGE = `Usage: workerlens lint PATH... [--format text|json|sarif] [--disable RULE,...] [--exclude GLOB,...] [--pool NAME] [--output FILE]
Flags race risks (${RULE_IDS.join(', ')}) in Python files that run concurrently (Celery tasks, threads, executors, asyncio).
  PATH              files or directories (searched recursively for *.py; symbolic links followed once)
  --format FORMAT   text (default), json, or sarif (SARIF 2.1.0 for GitHub code scanning)
  --disable RULES   comma-separated rule codes to turn off
  --exclude GLOBS   comma-separated globs to skip inside directories (default: ${DEFAULT_EXCLUDE.join(',')});
                    \`dir/\` = a directory at any depth, a name glob = file names, else the relative path;
                    --exclude '' lints test code too
  --pool NAME       the Celery pool the workers run (prefork, threads, gevent, eventlet, solo; auto: read it):
                    orders the quick fixes (under prefork a threading.Lock excludes no other process).
                    By default read as the editor does: -P/--pool in .vscode launch/tasks configs,
                    Procfiles, docker-compose files, systemd units in each PATH (a file's folder), then
                    worker_pool/CELERYD_POOL in the Python files, else Celery's default (prefork)
  --output FILE     write the report to FILE instead of stdout (its folder must exist)
Exit status: 0 no findings, 1 findings or unreadable files, 2 usage error.`;

export const lintCommand: CliCommand = {
  name: 'lint',
  summary: 'flag race risks in Python worker code (text, JSON or SARIF)',
  usage: USAGE,
  async run(args, io) {
    let format: Format = 'text';
    let output: string | undefined;
    let exclude: readonly string[] = DEFAULT_EXCLUDE;
    const disabled: string[] = [];
    const paths: string[] = [];
    let poolSetting: PoolSetting = 'auto';
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      const value = (name: string) => {
        const eq = a.indexOf('=');
        if (eq > 0) return a.slice(eq + 1);
        const v = args[++i];
        if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
        return v;
      };
      if (a === '--format' || a.startsWith('--format=')) {
        const v = value('--format');
        if (!(FORMATS as readonly string[]).includes(v)) throw new UsageError(`unknown format '${v}' (use text, json or sarif)`);
        format = v as Format;
      } else if (a === '--disable' || a.startsWith('--disable=')) {
        for (const r of value('--disable').split(',').map(s => s.trim().toUpperCase()).filter(Boolean)) {
          if (!(RULE_IDS as string[]).includes(r)) throw new UsageError(`unknown rule '${r}' (rules: ${RULE_IDS.join(', ')})`);
          disabled.push(r);
        }
      } else if (a === '--pool' || a.startsWith('--pool=')) {
        poolSetting = parsePoolOption(value('--pool'));
      } else if (a === '--output' || a === '-o' || a.startsWith('--output=')) {
        output = value('--output');
      } else if (a === '--exclude' || a.startsWith('--exclude=')) {
        // `--exclude ''` (empty) turns the default off; `--exclude=` too.
        const eq = a.indexOf('=');
        const v = eq > 0 ? a.slice(eq + 1) : args[++i];
        if (v === undefined || v.startsWith('--')) throw new UsageError('--exclude needs a value (use --exclude \'\' to exclude nothing)');
        exclude = v.split(',').map(x => x.trim()).filter(Boolean);
      } else if (a.startsWith('-') && a !== '-') {
        throw new UsageError(`unknown option '${a}'`);
      } else {
        paths.push(a);
      }
    }
    if (!paths.length) throw new UsageError('no PATH given');
    const resolved = paths.map(p => path.resolve(io.cwd, p));
    for (let i = 0; i < resolved.length; i++) {
      if (!fs.existsSync(resolved[i])) throw new UsageError(`no such file or directory: ${paths[i]}`);
    }
    if (output) {
      const dir = path.dirname(path.resolve(io.cwd, output));
      let st: fs.Stats | undefined;
      try { st = fs.statSync(dir); } catch { /* missing */ }
      if (!st?.isDirectory()) throw new UsageError(`cannot write the report to ${output}: the folder ${path.relative(io.cwd, dir) || dir} does not exist (create it first)`);
    }
    const excluded: string[] = [];
    const files = listPythonFiles(resolved, { exclude, excluded });
    const poolHits: PoolHit[] = cliPoolHits(poolFolders(resolved), io.cwd);
    const poolFound: { info?: PoolInfo } = {};
    const results = await lintFiles(files, {
      disabledRules: disabled, poolHits, poolSetting, poolSettingName: `--pool ${poolSetting}`, poolFound,
      displayName: f => relName(f, io.cwd),
    });
    const input = { results, baseDir: io.cwd, version: VERSION, excluded: excluded.length, excludePatterns: exclude, ...(poolFound.info ? { pool: poolFound.info } : {}) };
    const report = format === 'json' ? formatJson(input) : format === 'sarif' ? formatSarif(input) : formatText(input);
    if (output) {
      fs.writeFileSync(path.resolve(io.cwd, output), report);
      io.stderr(`workerlens lint: ${countFindings(results)} finding(s); ${format} report written to ${output}\n`);
    } else {
      io.stdout(report);
    }
    for (const r of results) if (r.error && format !== 'text') io.stderr(`workerlens lint: ${path.relative(io.cwd, r.path)}: ${r.error}\n`);
    return countFindings(results) > 0 || results.some(r => r.error) ? 1 : 0;
  },
};
