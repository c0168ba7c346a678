// Many files at once (CLI, workspace scan): module names, cross-module call following,
// and a crash in one file reported for that file instead of stopping the run.
import fs from 'node:fs';
import path from 'node:path';
import { ModuleAnalyzer, mayBeConcurrent } from './analyzer';
import { Context } from './contexts';
import { PythonParser } from './python';
import { Finding } from './types';

export interface FileResult {
  path: string;
  findings: Finding[];
  error?: string;
  parsed: boolean;
  syntaxErrors: boolean;
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

/** Python files under the given paths (directories recursively; hidden dirs, venvs and caches skipped). */
export function listPythonFiles(paths: string[]): string[] {
  const out: string[] = [];
  const skip = new Set(['node_modules', '__pycache__', 'site-packages', '.git', '.venv', 'venv', '.tox', '.mypy_cache']);
  const walk = (p: string) => {
    let st: fs.Stats;
    try { st = fs.statSync(p); } catch (e) { throw new Error(`cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`); }
    if (st.isFile()) { out.push(p); return; }
    if (!st.isDirectory()) return;
    let entries: fs.Dirent[];
    try { entries = fs.readdirSync(p, { withFileTypes: true }); } catch { return; }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(p, e.name);
      if (e.isDirectory()) { if (!e.name.startsWith('.') && !skip.has(e.name)) walk(full); }
      else if (e.isFile() && e.name.endsWith('.py')) out.push(full);
    }
  };
  for (const p of paths) walk(p);
  return [...new Set(out)];
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
}

/** Analyses files with cross-module call following. Reads files from disk unless `texts` has them. */
export async function lintFiles(files: string[], opts: LintOptions = {}, texts = new Map<string, string>()): Promise<FileResult[]> {
  const parser = await PythonParser.create();
  try {
    const index = new ModuleIndex(files);
    const results = new Map<string, FileResult>();
    const extras = new Map<string, Entry[]>();
    const analyzeOne = (file: string) => {
      let text = texts.get(file);
      if (text === undefined) {
        try { text = fs.readFileSync(file, 'utf8'); } catch (e) {
          results.set(file, { path: file, findings: [], error: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, parsed: false, syntaxErrors: false });
          return [];
        }
        texts.set(file, text);
      }
      const extra = extras.get(file) ?? [];
      if (!extra.length && !mayBeConcurrent(text)) {
        results.set(file, { path: file, findings: [], parsed: false, syntaxErrors: false });
        return [];
      }
      let tree;
      try {
        tree = parser.parse(text);
        const r = new ModuleAnalyzer().analyze(tree, text, { disabledRules: opts.disabledRules ?? [], extraEntries: extra });
        results.set(file, { path: file, findings: r.findings, parsed: true, syntaxErrors: r.hasSyntaxErrors });
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
          if (list.some(e => e.name === call.name && e.context.kind === call.context.kind)) continue;
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
