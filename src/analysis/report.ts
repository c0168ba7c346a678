// Findings as text, JSON or SARIF 2.1.0 (what GitHub code scanning ingests): paths relative to
// a base directory, 1-based lines and columns (UTF-16 code units, as the analysis counts).
import crypto from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { RULES, RULE_IDS, ruleHelpUri } from './rules';
import { FileResult } from './project';
import { PoolInfo } from './workerPool';

export interface ReportInput {
  results: FileResult[]; baseDir: string; version: string;
  /** Files left out by the exclude globs (test code by default), and the globs. */
  excluded?: number; excludePatterns?: readonly string[];
  /** The Celery pool the fixes were ordered by, and where it was read (CLI: lint/lintPool.ts). */
  pool?: PoolInfo;
}

/** "pool: prefork, from Procfile line 1 (`--pool prefork`) — quick fixes are ordered for it; …", for the text report. */
export function poolTextLine(p: PoolInfo): string {
  const others = p.conflicts.slice(0, 3).map(h => `${h.pool} in ${h.file} line ${h.line + 1}`);
  const hint = p.origin === 'setting' ? '' : '; --pool NAME overrides';
  return `pool: ${p.pool}, from ${p.source} — quick fixes are ordered for it${hint}${others.length ? `; elsewhere: ${others.join('; ')}` : ''}`;
}

const isSuppress = (title: string) => title.startsWith('Suppress ');

function rel(file: string, baseDir: string): string {
  return path.relative(baseDir, path.resolve(baseDir, file)).split(path.sep).join('/');
}

export function countFindings(results: FileResult[]): number {
  return results.reduce((n, r) => n + r.findings.length, 0);
}

export function formatText(input: ReportInput): string {
  const { results, baseDir } = input;
  const out: string[] = [];
  for (const r of results) {
    const p = rel(r.path, baseDir);
    if (r.error) out.push(`${p}: error: ${r.error}`);
    for (const f of r.findings) {
      out.push(`${p}:${f.range.start.line + 1}:${f.range.start.character + 1}: ${f.rule} ${f.message}`);
      for (const x of f.related) out.push(`    ${p}:${x.range.start.line + 1}:${x.range.start.character + 1}: ${x.message}`);
      // the quick fixes the editor offers, in its order (the pool's): suppressions left to --disable
      for (const x of f.fixes) if (!isSuppress(x.title)) out.push(`    fix: ${x.title}`);
    }
  }
  const n = countFindings(results), files = results.filter(r => r.findings.length).length;
  const broken = results.filter(r => r.syntaxErrors);
  for (const r of broken) {
    const at = r.syntaxError ? `:${r.syntaxError.start.line + 1}:${r.syntaxError.start.character + 1}` : '';
    out.push(`${rel(r.path, baseDir)}${at}: note: syntax error — the parser recovered and analysed the rest, but findings in this file may be incomplete`);
  }
  for (const r of results) if (r.decoded) out.push(`${rel(r.path, baseDir)}: note: decoded as ${r.decoded}`);
  const extra = [
    ...(broken.length ? [`${broken.length} file${broken.length === 1 ? '' : 's'} could not be parsed completely`] : []),
    ...(input.excluded ? [`${input.excluded} test file${input.excluded === 1 ? '' : 's'}/folder${input.excluded === 1 ? '' : 's'} excluded by --exclude ${(input.excludePatterns ?? []).join(',')}; --exclude '' includes them`] : []),
  ];
  if (input.pool) out.push(poolTextLine(input.pool));
  out.push(`${n} race risk${n === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'} (${results.length} Python file${results.length === 1 ? '' : 's'} checked, ${results.filter(r => r.parsed).length} with concurrent code analysed${extra.length ? `; ${extra.join('; ')}` : ''})`);
  return out.join('\n') + '\n';
}

export function formatJson({ results, baseDir, version, excluded, pool }: ReportInput): string {
  return JSON.stringify({
    tool: 'workerlens', version,
    ...(pool ? { pool: poolJson(pool) } : {}),
    findings: results.flatMap(r => r.findings.map(f => ({
      path: rel(r.path, baseDir), rule: f.rule, name: RULES[f.rule].name, severity: 'warning',
      line: f.range.start.line + 1, column: f.range.start.character + 1, endLine: f.range.end.line + 1, endColumn: f.range.end.character + 1,
      message: f.message, state: f.state, function: f.functionName, helpUri: ruleHelpUri(f.rule),
      related: f.related.map(x => ({ line: x.range.start.line + 1, column: x.range.start.character + 1, message: x.message })),
      fixes: f.fixes.map(x => x.title),
    }))),
    errors: results.filter(r => r.error).map(r => ({ path: rel(r.path, baseDir), message: r.error })),
    unparsable: results.filter(r => r.syntaxErrors).map(r => ({ path: rel(r.path, baseDir), ...(r.syntaxError ? { line: r.syntaxError.start.line + 1, column: r.syntaxError.start.character + 1 } : {}) })),
    filesChecked: results.length,
    filesExcluded: excluded ?? 0,
  }, null, 2) + '\n';
}

/** The pool in JSON/SARIF: name, where it was read, how it was decided, other pools named. */
function poolJson(p: PoolInfo) {
  return { name: p.pool, from: p.source, origin: p.origin, elsewhere: p.conflicts.map(h => ({ pool: h.pool, file: h.file, line: h.line + 1, text: h.text })) };
}

export function formatSarif({ results, baseDir, version, pool }: ReportInput): string {
  const base = pathToFileURL(baseDir.endsWith(path.sep) ? baseDir : baseDir + path.sep).href;
  const location = (file: string) => {
    const r = rel(file, baseDir);
    return r.startsWith('../') ? { uri: pathToFileURL(path.resolve(baseDir, file)).href } : { uri: encodeURI(r), uriBaseId: '%SRCROOT%' };
  };
  const region = (x: { start: { line: number; character: number }; end: { line: number; character: number } }) =>
    ({ startLine: x.start.line + 1, startColumn: x.start.character + 1, endLine: x.end.line + 1, endColumn: x.end.character + 1 });
  const sarifResults = results.flatMap(r => r.findings.map(f => ({
    ruleId: f.rule, ruleIndex: RULE_IDS.indexOf(f.rule), level: 'warning',
    message: { text: f.message },
    locations: [{ physicalLocation: { artifactLocation: location(r.path), region: region(f.range) } }],
    relatedLocations: f.related.map((x, i) => ({ id: i + 1, message: { text: x.message }, physicalLocation: { artifactLocation: location(r.path), region: region(x.range) } })),
    // Stable across line moves: rule, file, function and state.
    partialFingerprints: { 'workerlensFinding/v1': crypto.createHash('sha256').update(`${f.rule}|${rel(r.path, baseDir)}|${f.functionName}|${f.state}`).digest('hex').slice(0, 32) },
  })));
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: {
        driver: {
          name: 'Worker Lens', semanticVersion: version, version,
          rules: RULE_IDS.map(id => ({
            id, name: RULES[id].name,
            shortDescription: { text: RULES[id].title },
            fullDescription: { text: RULES[id].description },
            // No public docs site: the help text itself is what code scanning shows; the README
            // section is named for readers of the installed package.
            help: { text: `${RULES[id].description} (Worker Lens ${ruleHelpUri(id)})`, markdown: `${RULES[id].description}\n\nMore: Worker Lens \`${ruleHelpUri(id)}\`` },
            defaultConfiguration: { level: 'warning' },
            properties: { tags: ['concurrency', 'race-condition', 'correctness'], precision: 'medium', 'problem.severity': 'warning' },
          })),
        },
      },
      originalUriBaseIds: { '%SRCROOT%': { uri: base } },
      ...(pool ? { properties: { celeryPool: poolJson(pool) } } : {}),
      columnKind: 'utf16CodeUnits',
      results: sarifResults,
      invocations: [{
        executionSuccessful: results.every(r => !r.error),
        toolExecutionNotifications: results.filter(r => r.error).map(r => ({ level: 'error', message: { text: r.error! }, locations: [{ physicalLocation: { artifactLocation: location(r.path) } }] })),
      }],
    }],
  };
  return JSON.stringify(sarif, null, 2) + '\n';
}
