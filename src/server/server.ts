// The race-risk language server: incremental sync, debounced diagnostics, a workspace scan with
// progress, quick fixes and hovers. Analysis errors are caught per file: one bad file never stops it.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CodeActionKind, Connection, DidChangeConfigurationNotification, TextDocumentSyncKind,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { CacheSummaries } from '../analysis/cacheSummaries';
import { CeleryConfig } from '../analysis/celeryRules';
import { DEFAULT_EXCLUDE, isExcluded } from '../analysis/exclude';
import { Entry, listPythonFiles, lintFiles } from '../analysis/project';
import { PythonParser } from '../analysis/python';
import { RULE_IDS } from '../analysis/rules';
import { Finding, Range } from '../analysis/types';
import { PoolHit, PoolInfo, PoolSetting, decidePool, poolFileKind, sanitizePoolSetting } from '../analysis/workerPool';
import { workspacePoolHits } from './pool';
import { codeActions, hoverAt, setDocsBase, syntaxNotice, toDiagnostic } from './convert';
import { AnalyzedDocument } from './document';

export interface RaceSettings {
  enabled: boolean;
  disabledRules: string[];
  /** Quiet time after the last keystroke before diagnostics are recomputed. */
  debounceMs: number;
  /** Globs (relative to a workspace folder) of files not checked: test code by default. */
  exclude: string[];
}

const DEFAULTS: RaceSettings = { enabled: true, disabledRules: [], debounceMs: 200, exclude: [...DEFAULT_EXCLUDE] };

function sanitize(raw: unknown): RaceSettings {
  const r = (raw ?? {}) as Partial<Record<keyof RaceSettings, unknown>>;
  return {
    enabled: typeof r.enabled === 'boolean' ? r.enabled : DEFAULTS.enabled,
    disabledRules: Array.isArray(r.disabledRules) ? r.disabledRules.map(String).map(s => s.trim().toUpperCase()).filter(s => (RULE_IDS as string[]).includes(s)) : [],
    debounceMs: typeof r.debounceMs === 'number' && r.debounceMs >= 0 ? r.debounceMs : DEFAULTS.debounceMs,
    exclude: Array.isArray(r.exclude) ? r.exclude.map(String).map(x => x.trim()).filter(Boolean) : DEFAULTS.exclude,
  };
}

/** `file` relative to the workspace folder holding it (for messages), else as given. */
function relativeName(folders: string[], file: string): string {
  const f = folders.find(d => file.startsWith(d + path.sep));
  return f ? path.relative(f, file).split(path.sep).join('/') : file;
}

function uriToPath(uri: string): string | undefined {
  try { return uri.startsWith('file:') ? fileURLToPath(uri) : undefined; } catch { return undefined; }
}

export function startServer(connection: Connection): void {
  const docs = new Map<string, AnalyzedDocument>();
  const timers = new Map<string, NodeJS.Timeout>();
  /** Findings from the workspace scan for files that are not open. */
  const scanned = new Map<string, Finding[]>();
  /** Per file: functions other workspace modules run concurrently. */
  const entries = new Map<string, Entry[]>();
  let settings = DEFAULTS;
  let folders: string[] = [];
  let canPullConfig = false, canProgress = false;
  let parserPromise: Promise<PythonParser> | undefined;
  let scan: AbortController | undefined;
  /** Celery settings (visibility timeout, time limit) read by the last workspace scan. */
  let celery: CeleryConfig = {};
  /** Django-cache summaries of the workspace's functions (cross-module get-then-set locks). */
  let cacheMethods: CacheSummaries = new Map();
  /** The workspace's Celery pool as the last scan decided it (orders quick fixes), and the setting. */
  let pool: PoolInfo | undefined;
  let poolSetting: PoolSetting = 'auto';
  /** Where the last scan found pools named (the setting is applied to these when it changes). */
  let poolHits: PoolHit[] = [];
  /** Files with a syntax error: where (one information diagnostic each). */
  const syntax = new Map<string, Range>();

  const log = (msg: string) => connection.console.log(`[races] ${msg}`);
  const parser = () => (parserPromise ??= PythonParser.create());

  const findingsFor = (uri: string): Finding[] => docs.get(uri)?.result?.findings ?? scanned.get(uri) ?? [];
  const publish = (uri: string, findings: Finding[], version?: number) => {
    const notice = syntax.get(uri);
    void connection.sendDiagnostics({ uri, ...(version !== undefined ? { version } : {}), diagnostics: [...findings.map(f => toDiagnostic(uri, f)), ...(notice ? [syntaxNotice(notice)] : [])] });
  };
  /** The file is test code (or otherwise excluded) relative to a workspace folder. */
  const excluded = (file: string | undefined) => !!file && settings.exclude.length > 0 && folders.some(f => {
    const rel = path.relative(f, file);
    return !rel.startsWith('..') && !path.isAbsolute(rel) && (isExcluded(rel.split(path.sep).join('/'), settings.exclude)
      || rel.split(path.sep).slice(0, -1).some((_, i, dirs) => isExcluded(dirs.slice(0, i + 1).join('/') + '/', settings.exclude)));
  });

  async function analyze(uri: string): Promise<void> {
    timers.delete(uri);
    const d = docs.get(uri);
    if (!d) return;
    const file = uriToPath(uri);
    if (!settings.enabled || excluded(file)) { syntax.delete(uri); publish(uri, []); return; }
    const version = d.version;
    try {
      const p = await parser();
      if (docs.get(uri) !== d || d.version !== version) return;   // closed or changed meanwhile
      const r = d.analyze(p, { disabledRules: settings.disabledRules, extraEntries: (file && entries.get(file)) || [], celery, cacheMethods, ...(pool ? { pool } : {}) });
      if (r.syntaxError) syntax.set(uri, r.syntaxError); else syntax.delete(uri);
      publish(uri, r.findings, version);
    } catch (e) {
      // Keep serving: drop this document's tree and the parser (a wasm fault can poison it).
      connection.console.error(`[races] analysis of ${uri} failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      d.reset();
      parserPromise?.then(p => p.dispose(), () => undefined);
      parserPromise = undefined;
    }
  }

  function schedule(uri: string): void {
    clearTimeout(timers.get(uri));
    timers.set(uri, setTimeout(() => void analyze(uri), settings.debounceMs));
  }

  async function pullSettings(fromNotification?: unknown): Promise<void> {
    if (canPullConfig) {
      try {
        settings = sanitize(await connection.workspace.getConfiguration('workerLens.races'));
        poolSetting = sanitizePoolSetting(await connection.workspace.getConfiguration('workerLens.celery.pool'));
        return;
      } catch { /* keep the old ones */ }
    }
    const pushed = (fromNotification as { workerLens?: { races?: unknown; celery?: { pool?: unknown } } } | undefined)?.workerLens;
    if (pushed?.races) settings = sanitize(pushed.races);
    if (pushed?.celery) poolSetting = sanitizePoolSetting(pushed.celery.pool);
  }

  async function scanWorkspace(): Promise<void> {
    scan?.abort();
    const ac = new AbortController();
    scan = ac;
    for (const uri of scanned.keys()) if (!docs.has(uri)) { syntax.delete(uri); publish(uri, []); }
    scanned.clear();
    if (!settings.enabled || !folders.length) return;
    const progress = canProgress ? await connection.window.createWorkDoneProgress() : undefined;
    progress?.begin('Worker Lens: checking Python files for race risks', 0, 'listing files', true);
    progress?.token.onCancellationRequested(() => ac.abort());
    const t0 = Date.now();
    try {
      const files = listPythonFiles(folders, { exclude: settings.exclude });
      const found: CeleryConfig = {};
      const summaries: CacheSummaries = new Map();
      const poolFound: { info?: PoolInfo } = {};
      const hits = workspacePoolHits(folders);
      const results = await lintFiles(files, {
        disabledRules: settings.disabledRules, signal: ac.signal, yieldEvery: 10, celery: found, cacheMethods: summaries,
        poolHits: hits, poolSetting, poolFound, displayName: f => relativeName(folders, f),
        onProgress: (done, total) => progress?.report(Math.floor((done * 100) / Math.max(total, 1)), `${done}/${total} files`),
      });
      if (ac.signal.aborted) return;
      const celeryChanged = JSON.stringify(found) !== JSON.stringify(celery) || JSON.stringify([...summaries]) !== JSON.stringify([...cacheMethods])
        || JSON.stringify(poolFound.info) !== JSON.stringify(pool);
      if (poolFound.info && JSON.stringify(poolFound.info) !== JSON.stringify(pool)) log(`Celery pool: ${poolFound.info.pool}, from ${poolFound.info.source}`);
      pool = poolFound.info;
      poolHits = hits;
      celery = found;
      cacheMethods = summaries;
      let n = 0;
      for (const r of results) {
        if (r.error) connection.console.warn(`[races] ${r.path}: ${r.error}`);
        if (r.entries?.length) entries.set(r.path, r.entries);
        const uri = pathToFileURL(r.path).href;
        n += r.findings.length;
        if (docs.has(uri)) { if (r.entries?.length || celeryChanged) schedule(uri); continue; }
        if (r.syntaxError) syntax.set(uri, r.syntaxError); else syntax.delete(uri);
        if (r.findings.length || r.syntaxError) { scanned.set(uri, r.findings); publish(uri, r.findings); }
      }
      log(`scanned ${files.length} Python files in ${Date.now() - t0} ms: ${n} race risks`);
    } catch (e) {
      if (!ac.signal.aborted) connection.console.error(`[races] workspace scan failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      progress?.done();
    }
  }

  async function relintFromDisk(paths: string[]): Promise<void> {
    if (!settings.enabled || !paths.length) return;
    try {
      const results = await lintFiles(paths.filter(p => !excluded(p)), { disabledRules: settings.disabledRules });
      for (const r of results) {
        const uri = pathToFileURL(r.path).href;
        if (docs.has(uri)) continue;
        if (r.syntaxError) syntax.set(uri, r.syntaxError); else syntax.delete(uri);
        scanned.set(uri, r.findings);
        publish(uri, r.findings);
      }
    } catch (e) {
      connection.console.error(`[races] re-checking changed files failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  connection.onInitialize(params => {
    canPullConfig = !!params.capabilities.workspace?.configuration;
    canProgress = !!params.capabilities.window?.workDoneProgress;
    const init = params.initializationOptions as { races?: unknown; docsUri?: unknown } | undefined;
    settings = sanitize(init?.races);
    setDocsBase(typeof init?.docsUri === 'string' ? init.docsUri : undefined);
    folders = (params.workspaceFolders ?? []).map(f => uriToPath(f.uri)).filter((p): p is string => !!p);
    if (!folders.length && params.rootUri) { const p = uriToPath(params.rootUri); if (p) folders = [p]; }
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        hoverProvider: true,
      },
      serverInfo: { name: 'Worker Lens races' },
    };
  });

  connection.onInitialized(() => {
    if (canPullConfig) void connection.client.register(DidChangeConfigurationNotification.type, { section: 'workerLens' }).catch(() => undefined);
    void pullSettings().then(scanWorkspace);
  });

  connection.onDidOpenTextDocument(p => {
    const t = p.textDocument;
    docs.get(t.uri)?.dispose();
    docs.set(t.uri, new AnalyzedDocument(TextDocument.create(t.uri, t.languageId, t.version, t.text)));
    void analyze(t.uri);
  });

  connection.onDidChangeTextDocument(p => {
    const d = docs.get(p.textDocument.uri);
    if (!d) return;
    try {
      d.update(p.contentChanges, p.textDocument.version);
    } catch (e) {
      connection.console.error(`[races] applying an edit to ${p.textDocument.uri} failed: ${String(e)}`);
      d.reset();
    }
    schedule(p.textDocument.uri);
  });

  connection.onDidCloseTextDocument(p => {
    const uri = p.textDocument.uri;
    clearTimeout(timers.get(uri));
    timers.delete(uri);
    docs.get(uri)?.dispose();
    docs.delete(uri);
    const path = uriToPath(uri);
    // Files in the workspace fall back to what is on disk; others lose their diagnostics.
    if (path && folders.some(f => path.startsWith(f + '/'))) void relintFromDisk([path]);
    else publish(uri, []);
  });

  connection.onDidChangeConfiguration(async change => {
    await pullSettings(change.settings);
    if (pool) pool = decidePool(poolHits, poolSetting);   // the setting applies now; the rescan below re-reads the files
    for (const uri of docs.keys()) void analyze(uri);
    void scanWorkspace();
  });

  connection.onDidChangeWatchedFiles(p => {
    const changed: string[] = [];
    // A launch config, Procfile, compose file or unit changed: the pool may have (a rescan decides it again).
    if (p.changes.some(c => { const f = uriToPath(c.uri); return !!f && !f.endsWith('.py') && !!poolFileKind(f); })) { void scanWorkspace(); return; }
    for (const c of p.changes) {
      const path = uriToPath(c.uri);
      if (!path || !path.endsWith('.py') || docs.has(c.uri)) continue;
      if (c.type === 3) { scanned.delete(c.uri); publish(c.uri, []); } else changed.push(path);
    }
    void relintFromDisk(changed);
  });

  connection.onCodeAction(p => (settings.enabled ? codeActions(p.textDocument.uri, findingsFor(p.textDocument.uri), p.range) : []));
  connection.onHover(p => (settings.enabled ? hoverAt(findingsFor(p.textDocument.uri), p.position) : null));

  connection.onShutdown(() => {
    scan?.abort();
    for (const t of timers.values()) clearTimeout(t);
    for (const d of docs.values()) d.dispose();
    docs.clear();
    parserPromise?.then(p => p.dispose(), () => undefined);
  });

  connection.listen();
}
