// Which Celery pool the workspace's workers run, read from the files that start or configure them:
// Celery settings in Python (`worker_pool`, `CELERYD_POOL`), `-P/--pool` on `celery worker` command
// lines in VS Code launch/tasks configs, Procfiles, docker-compose files and systemd units, or the
// `workerLens.celery.pool` setting. Quick fixes are ordered by it (a threading.Lock does not reach
// other prefork processes). Pure: texts in, a decision with where it was read out.
import fs from 'node:fs';
import path from 'node:path';

export type PoolName = 'prefork' | 'threads' | 'gevent' | 'eventlet' | 'solo';
export type PoolSetting = 'auto' | PoolName;
export const POOL_SETTINGS: readonly PoolSetting[] = ['auto', 'prefork', 'threads', 'gevent', 'eventlet', 'solo'];

/** One place a pool is named. */
export interface PoolHit {
  pool: PoolName;
  /** Workspace-relative (or base) file name. */
  file: string;
  /** 0-based line. */
  line: number;
  /** The text that names it, e.g. `--pool prefork`, `worker_pool = "threads"`. */
  text: string;
  kind: 'launch' | 'command' | 'config';
}

export interface PoolInfo {
  pool: PoolName;
  /** Where it was read, in words: "Procfile line 1 (`--pool prefork`)", "the workerLens.celery.pool setting". */
  source: string;
  origin: 'setting' | 'workspace' | 'default';
  /** Other places that name a different pool (the hover mentions them). */
  conflicts: PoolHit[];
}

const ALIASES: Record<string, PoolName> = {
  prefork: 'prefork', processes: 'prefork', threads: 'threads', thread: 'threads', gevent: 'gevent', eventlet: 'eventlet', solo: 'solo',
};

function poolOf(word: string): PoolName | undefined {
  return ALIASES[word.toLowerCase()];
}

/** Python settings: `worker_pool = "x"`, `CELERYD_POOL = 'x'`, `worker_pool="x"` (conf.update), `{"worker_pool": "x"}`. */
const PY_SETTING = /(?:^|[\s,({.])["']?(worker_pool|CELERYD_POOL|CELERY_WORKER_POOL)["']?\s*[:=]\s*["']([A-Za-z]+)["']/g;

export function poolHitsInPython(text: string, file: string): PoolHit[] {
  if (!/worker_pool|CELERYD_POOL|CELERY_WORKER_POOL/.test(text)) return [];
  const out: PoolHit[] = [];
  text.split(/\r?\n/).forEach((raw, line) => {
    const code = stripPythonComment(raw);
    for (const m of code.matchAll(PY_SETTING)) {
      const pool = poolOf(m[2]);
      if (pool) out.push({ pool, file, line, text: m[0].replace(/^[\s,({.]/, '').trim(), kind: 'config' });
    }
  });
  return out;
}

function stripPythonComment(line: string): string {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) { if (c === '\\') i++; else if (c === quote) quote = ''; continue; }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#') return line.slice(0, i);
  }
  return line;
}

/** The pool a `celery … worker …` token list names with -P/--pool, and the tokens that name it. */
function poolInTokens(tokens: string[]): { pool: PoolName; text: string } | undefined {
  const celery = tokens.findIndex(t => /(^|\/)celery(\.exe)?$/.test(t) || t === 'celery');
  const worker = tokens.findIndex(t => t === 'worker' || t === 'multi');
  if (celery < 0 || worker < 0) return undefined;  // `celery beat`, `celery flower`: no pool
  for (let i = worker + 1; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === '-P' || t === '--pool') { const p = poolOf(tokens[i + 1] ?? ''); if (p) return { pool: p, text: `${t} ${tokens[i + 1]}` }; }
    let m = /^--pool=(\w+)$/.exec(t);
    if (m && poolOf(m[1])) return { pool: poolOf(m[1])!, text: t };
    m = /^-P(\w+)$/.exec(t);
    if (m && poolOf(m[1])) return { pool: poolOf(m[1])!, text: t };
  }
  return undefined;
}

/** Shell-ish words of a command line (quotes, brackets and commas of YAML/JSON lists dropped). */
function words(line: string): string[] {
  return line.replace(/[[\]",']/g, ' ').split(/\s+/).filter(Boolean);
}

/** Procfile, docker-compose, systemd units, shell scripts: one command per logical line (`\` continues). */
export function poolHitsInCommands(text: string, file: string): PoolHit[] {
  if (!/celery/.test(text) || !/-P|--pool/.test(text)) return [];
  const out: PoolHit[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let logical = lines[i].replace(/^\s*#.*$/, '');
    const start = i;
    while (/\\\s*$/.test(logical) && i + 1 < lines.length) logical = logical.replace(/\\\s*$/, ' ') + lines[++i];
    // A YAML list command (`command:` then `- celery` items) spreads over lines: join its items.
    if (/^\s*(command|entrypoint)\s*:\s*$/.test(logical)) {
      while (i + 1 < lines.length && /^\s*-\s/.test(lines[i + 1])) logical += ' ' + lines[++i].replace(/^\s*-\s*/, '');
    }
    const hit = poolInTokens(words(logical));
    if (hit) out.push({ pool: hit.pool, file, line: start, text: hit.text, kind: 'command' });
  }
  return out;
}

/** VS Code launch.json / tasks.json (JSON with comments): each configuration's or task's command and args. */
export function poolHitsInVsCodeJson(text: string, file: string): PoolHit[] {
  if (!/celery/.test(text) || !/-P|--pool/.test(text)) return [];
  let doc: unknown;
  try { doc = JSON.parse(stripJsonComments(text)); } catch { return []; }
  const out: PoolHit[] = [];
  const lines = text.split(/\r?\n/);
  const visit = (o: unknown) => {
    if (Array.isArray(o)) { o.forEach(visit); return; }
    if (!o || typeof o !== 'object') return;
    const r = o as Record<string, unknown>;
    const parts: string[] = [];
    for (const k of ['module', 'program', 'command']) if (typeof r[k] === 'string') parts.push(...words(r[k] as string));
    if (Array.isArray(r.args)) parts.push(...r.args.filter((a): a is string => typeof a === 'string').flatMap(a => a.includes(' ') ? words(a) : [a]));
    else if (typeof r.args === 'string') parts.push(...words(r.args));
    const hit = parts.length ? poolInTokens(parts) : undefined;
    if (hit) {
      const value = hit.text.split(/[ =]/).pop()!.replace(/^-P/, '');
      const name = typeof r.name === 'string' ? r.name : typeof r.label === 'string' ? r.label : undefined;
      // The line of the pool's value, preferring one inside this entry (after its name).
      const nameLine = name ? lines.findIndex(l => l.includes(JSON.stringify(name))) : -1;
      let line = lines.findIndex((l, i) => i >= Math.max(0, nameLine) && new RegExp(`["'\\s=P]${value}["'\\s]`).test(l));
      if (line < 0) line = Math.max(0, nameLine);
      out.push({ pool: hit.pool, file, line, text: hit.text + (name ? ` in "${name}"` : ''), kind: 'launch' });
    }
    for (const v of Object.values(r)) if (v && typeof v === 'object') visit(v);
  };
  visit(doc);
  return out;
}

/** JSONC → JSON: comments and trailing commas out, strings untouched. */
function stripJsonComments(text: string): string {
  let out = '', i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1); i = j + 1;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2); i = end < 0 ? text.length : end + 2;
    } else { out += c; i++; }
  }
  return out.replace(/,(\s*[}\]])/g, '$1');
}

/** Which reader a file needs, by name; undefined: not a file that starts or configures workers. */
export function poolFileKind(file: string): 'vscode' | 'commands' | 'python' | undefined {
  const base = path.basename(file);
  const dir = path.basename(path.dirname(file));
  if (dir === '.vscode' && (base === 'launch.json' || base === 'tasks.json')) return 'vscode';
  if (/^Procfile(\..+)?$/.test(base) || /^(docker-)?compose([.-].*)?\.ya?ml$/.test(base) || /\.(service|sh)$/.test(base) || base === 'supervisord.conf' || /\.conf$/.test(base) && /supervisor/.test(file)) return 'commands';
  if (base.endsWith('.py')) return 'python';
  return undefined;
}

export function poolHitsInFile(file: string, text: string): PoolHit[] {
  switch (poolFileKind(file)) {
    case 'vscode': return poolHitsInVsCodeJson(text, file);
    case 'commands': return poolHitsInCommands(text, file);
    case 'python': return poolHitsInPython(text, file);
    default: return [];
  }
}

/** Non-Python files of a workspace folder that may start workers (top level, .vscode/, deploy folders one level down). */
export function poolConfigFiles(folder: string): string[] {
  const out: string[] = [];
  const look = (dir: string, depth: number) => {
    let entries: fs.Dirent[];
    try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, e.name);
      if (e.isFile() && poolFileKind(full) && poolFileKind(full) !== 'python') out.push(full);
      else if (e.isDirectory() && depth > 0 && !/^(node_modules|\.git|\.venv|venv|__pycache__|site-packages)$/.test(e.name) && (!e.name.startsWith('.') || e.name === '.vscode')) look(full, depth - 1);
    }
  };
  look(folder, 2);
  return out;
}

// VS Code launch configs are what the developer runs here; deploy files next; Python settings last
// (a command line's --pool overrides the app's worker_pool, as in Celery).
const RANK = { launch: 0, command: 1, config: 2 } as const;

/** The pool to order quick fixes by: the setting when not `auto`, else the workspace's, else Celery's default.
 *  `settingName` says where the override came from (the CLI's `--pool`). */
export function decidePool(hits: PoolHit[], setting: PoolSetting = 'auto', settingName = 'the workerLens.celery.pool setting'): PoolInfo {
  const sorted = [...hits].sort((a, b) => RANK[a.kind] - RANK[b.kind] || a.file.localeCompare(b.file) || a.line - b.line);
  if (setting !== 'auto') {
    return { pool: setting, source: settingName, origin: 'setting', conflicts: sorted.filter(h => h.pool !== setting) };
  }
  const first = sorted[0];
  if (!first) return { pool: 'prefork', source: "Celery's default (no worker_pool or --pool found in the workspace)", origin: 'default', conflicts: [] };
  return { pool: first.pool, source: describeHit(first), origin: 'workspace', conflicts: sorted.filter(h => h.pool !== first.pool) };
}

export function describeHit(h: PoolHit): string {
  return `${h.file} line ${h.line + 1} (\`${h.text}\`)`;
}

/** One line for hovers: "Pool: prefork, from Procfile line 1 (`--pool prefork`)." plus disagreements. */
export function poolSentence(p: PoolInfo): string {
  const others = p.conflicts.slice(0, 2).map(h => `${h.pool} in ${describeHit(h)}`);
  return `Pool: **${p.pool}**, from ${p.source}.${others.length ? ` Elsewhere: ${others.join('; ')}.` : ''}`
    + (p.origin === 'setting' ? '' : ' Set `workerLens.celery.pool` to override.');
}

/** Pools where one process runs one task at a time: only a store shared by processes (Redis, the database) excludes others. */
export function isProcessPool(p: PoolName): boolean {
  return p === 'prefork' || p === 'solo';
}

export function sanitizePoolSetting(v: unknown): PoolSetting {
  return typeof v === 'string' && (POOL_SETTINGS as readonly string[]).includes(v) ? v as PoolSetting : 'auto';
}
