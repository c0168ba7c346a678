// Findings → LSP diagnostics, code actions and hovers.
import { CodeAction, CodeActionKind, Diagnostic, DiagnosticSeverity, Hover, MarkupKind, Position, Range } from 'vscode-languageserver';
import { RULES, ruleHelpUri } from '../analysis/rules';
import { Finding } from '../analysis/types';

export const SOURCE = 'Worker Lens';

/** URI of the installed extension's README (set from the client's initializationOptions). */
let docsBase: string | undefined;
export function setDocsBase(uri: string | undefined): void { docsBase = uri; }

export function toDiagnostic(uri: string, f: Finding): Diagnostic {
  return {
    range: f.range, severity: DiagnosticSeverity.Warning, source: SOURCE, code: f.rule,
    ...(docsBase ? { codeDescription: { href: ruleHelpUri(f.rule, docsBase) } } : {}),
    message: f.message,
    relatedInformation: f.related.map(r => ({ location: { uri, range: r.range }, message: r.message })),
    data: { state: f.state, fn: f.functionName },
  };
}

/** One information diagnostic where a file stops parsing: findings after it may be incomplete. */
export function syntaxNotice(range: Range): Diagnostic {
  return {
    range, severity: DiagnosticSeverity.Information, source: SOURCE, code: 'syntax',
    message: 'Syntax error here: Worker Lens analysed the rest of the file as the parser recovered it, so race findings in this file may be incomplete.',
  };
}

function overlaps(a: Range, b: Range): boolean {
  const before = (p: Position, q: Position) => p.line < q.line || (p.line === q.line && p.character < q.character);
  return !before(a.end, b.start) && !before(b.end, a.start);
}

export function codeActions(uri: string, findings: Finding[], range: Range): CodeAction[] {
  const out: CodeAction[] = [];
  for (const f of findings) {
    if (!overlaps(f.range, range)) continue;
    const diagnostic = toDiagnostic(uri, f);
    for (const fix of f.fixes) {
      out.push({ title: fix.title, kind: CodeActionKind.QuickFix, diagnostics: [diagnostic], isPreferred: !!fix.preferred, edit: { changes: { [uri]: fix.edits } } });
    }
  }
  return out;
}

function contains(r: Range, p: Position): boolean {
  return overlaps(r, { start: p, end: p });
}

/** Hover on a flagged range: what the rule means and where to read more (the message is in the diagnostic hover). */
export function hoverAt(findings: Finding[], p: Position): Hover | null {
  const hits = findings.filter(f => contains(f.range, p));
  if (!hits.length) return null;
  const rules = [...new Set(hits.map(f => f.rule))];
  // The pool the quick fixes were ordered for, and where it was read (task code only).
  const pool = hits.find(f => f.pool)?.pool;
  return {
    range: hits[0].range,
    contents: {
      kind: MarkupKind.Markdown,
      value: rules.map(id => `**Worker Lens ${id}: ${RULES[id].title}**\n\n${RULES[id].description}\n\n${docsBase ? `[Why, and how to fix it](${ruleHelpUri(id, docsBase)})` : `Why, and how to fix it: ${ruleHelpUri(id)} in the Worker Lens folder`}`).join('\n\n---\n\n')
        + (pool ? `\n\n---\n\n${pool} Quick fixes are ordered for it.` : ''),
    },
  };
}
