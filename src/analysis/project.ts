// Many files at once (CLI, workspace scan): module names, cross-module call following,
// and a crash in one file reported for that file instead of stopping the run.
import fs from 'node:fs';
import path from 'node:path';
import { ModuleAnalyzer, mayBeConcurrent } from './analyzer';
import { CacheSummaries, cacheSummariesOf } from './cacheSummaries';
import { CeleryConfig, celeryConfigOf, mergeConfig } from './celeryRules';
import { collectModuleFacts } from './moduleFacts';
import { Context } from './contexts';
import { isExcluded } from './exclude';
import { PythonParser } from './python';
import { decodePython } from './source';
import { Finding, Range } from './types';
import { PoolHit, PoolInfo, PoolSetting, decidePool, poolHitsInPython } from './workerPool';

export interface FileResult {
  path: string;
  findings: Finding[];
  error?: string;
  parsed: boolean;
  syntaxErrors: boolean;
  /** First syntax error (the parser recovers; findings after it may be incomplete). */
  syntaxError?: Range;
  /** How the bytes were decoded when not plain UTF-8 (BOM, PEP 263 cookie, CR line ends). */
  decoded?: string;
  /** Functions of this file other files run concurrently (for re-analysing it alone later). */
  entries?: Entry[];
}

/** Dotted module name of a file: walks up while the directory is a package (__init__.py). */
export function moduleNameOf(file: string): string {
  const parts = [path.basename(file, '.py')];
  if (parts[0] === '__init__') parts.pop();
  for (let dir = path.dirname(file); fs.existsSync(path.join(dir, '__init__.py')); dir = path.dirname(dir)) {
    parts.unshift(path.basename(dir));
    if (path.dirname(dir) === dir) break;
  }
  return parts.join('.');
}

export interface ListOptions {
  /** Globs of files to leave out (relative to each given directory); see exclude.ts. */
  exclude?: readonly string[];
  /** Filled with the files `exclude` left out. */
  excluded?: string[];
}

/**
 * Python files under the given paths (directories recursively; hidden dirs, venvs and caches
 * skipped). Symbolic links are followed, each real directory and file once (no loops). Files
 * named explicitly are never excluded.
 */
export function listPythonFiles(paths: string[], opts: ListOptions = {}): string[] {
  const out: string[] = [];
  const skip = new Set(['node_modules', '__pycache__', 'site-packages', '.git', '.venv', 'venv', '.tox', '.mypy_cache']);
  const seenDirs = new Set<string>(), seenFiles = new Set<string>();
  const real = (p: string) => { try { return fs.realpathSync(p); } catch { return p; } };
  const addFile = (p: string) => { const r = real(p); if (!seenFiles.has(r)) { seenFiles.add(r); out.push(p); } };
  const walk = (p: string, base: string) => {
    const r = real(p);
    if (seenDirs.has(r)) return;
    seenDirs.add(r);
    let entries: fs.Dirent[];
    try { entries = fs.readdirSync(p, { withFileTypes: true }); } catch { return; }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(p, e.name);
      let isDir = e.isDirectory(), isFile = e.isFile();
      if (e.isSymbolicLink()) {
        try { const st = fs.statSync(full); isDir = st.isDirectory(); isFile = st.isFile(); } catch { continue; }   // dangling link
      }
      const rel = path.relative(base, full).split(path.sep).join('/');
      if (isDir) {
        if (e.name.startsWith('.') || skip.has(e.name)) continue;
        if (opts.exclude?.length && isExcluded(rel + '/', opts.exclude)) { opts.excluded?.push(full + path.sep); continue; }
        walk(full, base);
      } else if (isFile && e.name.endsWith('.py')) {
        if (opts.exclude?.length && isExcluded(rel, opts.exclude)) { opts.excluded?.push(full); continue; }
        addFile(full);
      }
    }
  };
  for (const p of paths) {
    let st: fs.Stats;
    try { st = fs.statSync(p); } catch (e) { throw new Error(`cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`); }
    if (st.isFile()) addFile(p);
    else if (st.isDirectory()) walk(p, p);
  }
  return out;
}

export interface Entry { name: string; context: Context }

/** Resolves `module` as imported from `fromFile` to one of the files, or undefined. */
export class ModuleIndex {
  private readonly byName = new Map<string, string>();
  private readonly byLast = new Map<string, string[]>();

  constructor(files: string[]) {
    for (const f of files) {
      const name = moduleNameOf(f);
      this.byName.set(name, f);
      const parts = name.split('.');
      for (let i = 1; i < parts.length; i++) {
        const suffix = parts.slice(i).join('.');
        this.byLast.set(suffix, [...(this.byLast.get(suffix) ?? []), f]);
      }
    }
  }

  resolve(module: string, fromFile: string): string | undefined {
    if (module.startsWith('.')) {
      const dots = /^\.+/.exec(module)![0].length;
      const base = moduleNameOf(fromFile).split('.');
      const pkg = path.basename(fromFile) === '__init__.py' ? base : base.slice(0, -1);
      module = [...pkg.slice(0, pkg.length - (dots - 1)), ...(module.slice(dots) ? [module.slice(dots)] : [])].join('.');
    }
    const exact = this.byName.get(module);
    if (exact) return exact;
    const cands = this.byLast.get(module);
    return cands && cands.length === 1 ? cands[0] : undefined;
  }
}

export interface LintOptions {
  disabledRules?: string[];
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** Yield to the event loop every N files (servers). */
  yieldEvery?: number;
  /** Filled with the Celery settings read from the files (for analysing one file later). */
  celery?: CeleryConfig;
  /** Filled with the Django-cache summaries of the files' functions (idem). */
  cacheMethods?: CacheSummaries;
  /**
   * Where the workspace names its Celery pool, from files other than Python (launch configs,
   * Procfile…); the Python files' `worker_pool` settings are added to it. Given: fixes of task
   * code are ordered by the pool decided from it and `poolSetting`.
   */
  poolHits?: PoolHit[];
  poolSetting?: PoolSetting;
  /** Where poolSetting came from, in words (default: the workerLens.celery.pool setting). */
  poolSettingName?: string;
  /** How a file is named in messages (workspace-relative); its base name by default. */
  displayName?: (file: string) => string;
  /** Filled with the pool decided (when poolHits was given). */
  poolFound?: { info?: PoolInfo };
}

/** Reads and decodes a Python file as CPython would (BOM, PEP 263 cookie), plus UTF-16 with a BOM. */
export function readPython(file: string): { text: string; decoded?: string } {
  return decodePython(fs.readFileSync(file));
}

/** Analyses files with cross-module call following. Reads files from disk unless `texts` has them. */
export async function lintFiles(files: string[], opts: LintOptions = {}, texts = new Map<string, string>()): Promise<FileResult[]> {
  const parser = await PythonParser.create();
  try {
    const index = new ModuleIndex(files);
    const results = new Map<string, FileResult>();
    const extras = new Map<string, Entry[]>();
    const decoded = new Map<string, string>();
    const readErrors = new Map<string, string>();
    // Every text first: the Celery configuration (visibility timeout, time limits) is project-wide.
    let celery: CeleryConfig = {};
    for (const file of files) {
      let text = texts.get(file);
      if (text === undefined) {
        try {
          const d = readPython(file);
          text = d.text;
          if (d.decoded) decoded.set(file, d.decoded);
        } catch (e) {
          readErrors.set(file, e instanceof Error && !(e as NodeJS.ErrnoException).code ? e.message : `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
          continue;
        }
        texts.set(file, text);
      }
      celery = mergeConfig(celery, celeryConfigOf(text, path.basename(file)));
      if (opts.poolHits) opts.poolHits.push(...poolHitsInPython(text, opts.displayName?.(file) ?? path.basename(file)));
    }
    if (opts.celery) Object.assign(opts.celery, celery);
    const pool = opts.poolHits ? decidePool(opts.poolHits, opts.poolSetting, opts.poolSettingName) : undefined;
    if (opts.poolFound) opts.poolFound.info = pool;
    // Functions that read or set Django cache keys, for callers in other modules (few files: a text test first).
    const cacheMethods: CacheSummaries = new Map();
    for (const file of files) {
      const text = texts.get(file);
      if (text === undefined || !/django\.core\.cache|caches\[/.test(text) || !/\.(get|set|has_key)\(/.test(text)) continue;
      let tree;
      try {
        tree = parser.parse(text);
        for (const [k, v] of cacheSummariesOf(collectModuleFacts(tree.rootNode, text), text)) cacheMethods.set(k, v);
      } catch { /* reported when the file itself is analysed */ } finally { tree?.delete(); }
    }
    if (opts.cacheMethods) for (const [k, v] of cacheMethods) opts.cacheMethods.set(k, v);
    const analyzeOne = (file: string) => {
      const text = texts.get(file);
      const note = decoded.get(file);
      if (text === undefined) {
        results.set(file, { path: file, findings: [], error: readErrors.get(file) ?? 'cannot read', parsed: false, syntaxErrors: false });
        return [];
      }
      const extra = extras.get(file) ?? [];
      if (!extra.length && !mayBeConcurrent(text)) {
        results.set(file, { path: file, findings: [], parsed: false, syntaxErrors: false, ...(note ? { decoded: note } : {}) });
        return [];
      }
      let tree;
      try {
        tree = parser.parse(text);
        const r = new ModuleAnalyzer().analyze(tree, text, { disabledRules: opts.disabledRules ?? [], extraEntries: extra, celery, cacheMethods, ...(pool ? { pool } : {}) });
        results.set(file, {
          path: file, findings: r.findings, parsed: true, syntaxErrors: r.hasSyntaxErrors,
          ...(r.syntaxError ? { syntaxError: r.syntaxError } : {}), ...(note ? { decoded: note } : {}),
        });
        return r.external;
      } catch (e) {
        results.set(file, { path: file, findings: [], error: `analysis failed: ${e instanceof Error ? e.message : String(e)}`, parsed: true, syntaxErrors: false });
        return [];
      } finally {
        tree?.delete();
      }
    };
    let pending = files;
    for (let round = 0; round < 5 && pending.length; round++) {
      const next = new Set<string>();
      let done = 0;
      for (const file of pending) {
        // Let a server answer requests (and see cancellation) while a big workspace is scanned.
        if (opts.yieldEvery && done % opts.yieldEvery === 0) await new Promise(r => setImmediate(r));
        if (opts.signal?.aborted) throw new Error('lint cancelled');
        for (const call of analyzeOne(file)) {
          const target = index.resolve(call.module, file);
          if (!target || target === file) continue;
          const list = extras.get(target) ?? [];
          if (list.some(e => e.name === call.name && e.context.kind === call.context.kind && (e.context.selfShared || !call.context.selfShared))) continue;
          list.push({ name: call.name, context: { ...call.context, entry: call.context.entry } });
          extras.set(target, list);
          next.add(target);
        }
        if (round === 0) opts.onProgress?.(++done, files.length);
      }
      pending = [...next];
    }
    for (const [file, list] of extras) { const r = results.get(file); if (r) r.entries = list; }
    return files.map(f => results.get(f)!).filter(Boolean);
  } finally {
    parser.dispose();
  }
}
