// Quick fixes as plain text edits: wrap in an existing or new lock, Redis INCRBY, Django F(),
// and a suppression comment. Each is checked by a test: the edited code parses and is not flagged.
import { ModuleFacts } from './moduleFacts';
import { Guard, RawFinding } from './walker';
import { QuickFix, TextEdit } from './types';

export interface SourceLines { lines: string[]; eol: string }

export function splitLines(text: string): SourceLines {
  return { lines: text.split(/\r?\n/), eol: text.includes('\r\n') ? '\r\n' : '\n' };
}

export const SUPPRESS = /#\s*workerlens:\s*ignore(?:\[([A-Z0-9,\s]*)\])?/;

function indentUnit(lines: string[]): string {
  for (const l of lines) { const m = /^(\s+)\S/.exec(l); if (m) return m[1].startsWith('\t') ? '\t' : '    '; }
  return '    ';
}

function wrapEdit(src: SourceLines, span: { start: number; end: number }, lock: string, async: boolean): TextEdit {
  const { lines, eol } = src;
  const indent = /^\s*/.exec(lines[span.start])![0];
  const unit = indentUnit(lines);
  const body = lines.slice(span.start, span.end + 1).map(l => (l.trim() ? unit + l : l));
  return {
    range: { start: { line: span.start, character: 0 }, end: { line: span.end, character: lines[span.end].length } },
    newText: [`${indent}${async ? 'async with' : 'with'} ${lock}:`, ...body].join(eol),
  };
}

function lockNameFor(f: RawFinding, facts: ModuleFacts): string {
  const base = (f.state.globalName ?? f.state.root.replace(/^self\./, '')).replace(/[^A-Za-z0-9_]/g, '_').replace(/^_+/, '');
  let name = `_${base}_lock`, i = 2;
  while (facts.symbols.has(name)) name = `_${base}_lock${i++}`;
  return name;
}

/** Edits that add `name = threading.Lock()` (and `import threading` when missing) at module level. */
function newLockEdits(src: SourceLines, facts: ModuleFacts, f: RawFinding, name: string, async: boolean): TextEdit[] {
  const mod = async ? 'asyncio' : 'threading';
  const bound = [...facts.imports].some(i => i === `${mod}=${mod}`);
  const sym = f.state.globalName ? facts.symbols.get(f.state.globalName) : undefined;
  const afterImports = facts.lastImportLine >= 0 ? facts.lastImportLine + 1 : facts.firstCodeLine;
  const importAt = facts.lastPlainImportLine >= 0 ? facts.lastPlainImportLine + 1 : afterImports;
  const at = (line: number) => ({ line, character: 0 });
  const decl = `${name} = ${mod}.Lock()`;
  const { eol } = src;
  // Place the lock right after the state it guards when that is a module-level definition.
  if (sym && (sym.kind === 'var' || sym.kind === 'instance' || sym.kind === 'class') && sym.endLine + 1 > afterImports) {
    const edits: TextEdit[] = [{ range: { start: at(sym.endLine + 1), end: at(sym.endLine + 1) }, newText: decl + eol }];
    if (!bound) edits.unshift({ range: { start: at(importAt), end: at(importAt) }, newText: `import ${mod}${eol}` });
    return edits;
  }
  if (!bound && importAt !== afterImports) {
    return [{ range: { start: at(importAt), end: at(importAt) }, newText: `import ${mod}${eol}` }, { range: { start: at(afterImports), end: at(afterImports) }, newText: `${eol}${decl}${eol}` }];
  }
  return [{ range: { start: at(afterImports), end: at(afterImports) }, newText: `${bound ? '' : `import ${mod}${eol}`}${eol}${decl}${eol}` }];
}

/** Import lines for names the module does not bind yet, after its last import. */
function importEdits(src: SourceLines, facts: ModuleFacts, imports: { name: string; line: string }[]): TextEdit[] {
  const line = facts.lastImportLine >= 0 ? facts.lastImportLine + 1 : facts.firstCodeLine;
  const missing = imports.filter(i => !facts.symbols.has(i.name));
  return missing.length ? [{ range: { start: { line, character: 0 }, end: { line, character: 0 } }, newText: missing.map(i => i.line + src.eol).join('') }] : [];
}

/** WL109: a lock from the proxy's own manager — the one already used, else a new `mgr.Lock()` after the proxy. */
function managerLockFix(f: RawFinding, src: SourceLines, facts: ModuleFacts): QuickFix | undefined {
  if (!f.wrap || !f.state.globalName) return undefined;
  const proxy = facts.symbols.get(f.state.globalName);
  const mgr = proxy?.ctor?.includes('.') ? proxy.ctor.slice(0, proxy.ctor.lastIndexOf('.')) : undefined;
  if (!proxy || !mgr || facts.symbols.get(mgr)?.store !== 'mpmanager') return undefined;
  const existing = [...facts.symbols.values()].find(s => s.kind === 'lock' && (s.ctor === `${mgr}.Lock` || s.ctor === `${mgr}.RLock`));
  if (existing) return { title: `Wrap in \`with ${existing.name}:\` (the lock of manager \`${mgr}\`, shared by every process)`, edits: [wrapEdit(src, f.wrap, existing.name, false)], preferred: true };
  const name = lockNameFor(f, facts);
  const at = { line: proxy.endLine + 1, character: 0 };
  return {
    title: `Wrap in \`with ${name}:\` (new \`${mgr}.Lock()\`: a manager lock reaches every process)`,
    edits: [{ range: { start: at, end: at }, newText: `${name} = ${mgr}.Lock()${src.eol}` }, wrapEdit(src, f.wrap, name, false)], preferred: true,
  };
}

const SHARED_REWRITES = new Set(['WL104', 'WL105', 'WL106', 'WL107', 'WL108', 'WL109']);

export function buildFixes(f: RawFinding, src: SourceLines, facts: ModuleFacts, guards: Guard[], className: string | undefined): QuickFix[] {
  const fixes: QuickFix[] = [];
  if (f.rewrite) {
    const edits = [...f.rewrite.edits];
    if (f.rewrite.importF && !facts.symbols.has('F')) {
      const line = facts.lastImportLine >= 0 ? facts.lastImportLine + 1 : facts.firstCodeLine;
      edits.unshift({ range: { start: { line, character: 0 }, end: { line, character: 0 } }, newText: `from django.db.models import F${src.eol}` });
    }
    edits.unshift(...importEdits(src, facts, f.imports ?? []));
    // Redis INCRBY/SET NX, Django F()/cache.add/get_or_create reach every process; setdefault does not need to.
    fixes.push({ title: f.rewrite.title, edits, preferred: true, ...(SHARED_REWRITES.has(f.rule) ? { scope: 'shared' as const } : {}) });
  }
  for (const m of f.moreFixes ?? []) fixes.push({ title: m.title, edits: m.edits });
  if (f.rule === 'WL109') {
    const fix = managerLockFix(f, src, facts);
    if (fix) fixes.push({ ...fix, preferred: !fixes.length, scope: 'shared' });
  }
  if (f.wrap && (f.rule === 'WL101' || f.rule === 'WL102')) {
    const guard = guards.find(g => g.root === f.state.root && (!g.className || g.className === className) && g.async === f.inAsync && !g.lock.includes('('));
    if (guard) {
      fixes.push({ title: `Wrap in \`${f.inAsync ? 'async with' : 'with'} ${guard.lock}:\` (the lock already guarding ${f.state.display})`, edits: [wrapEdit(src, f.wrap, guard.lock, f.inAsync)], preferred: !fixes.length, scope: 'process' });
    } else if (!f.state.root.startsWith('self.') && !f.state.root.startsWith('nonlocal:')) {
      const name = lockNameFor(f, facts);
      const mod = f.inAsync ? 'asyncio' : 'threading';
      fixes.push({
        title: `Wrap in \`${f.inAsync ? 'async with' : 'with'} ${name}:\` (new module-level ${mod}.Lock)`,
        edits: [...newLockEdits(src, facts, f, name, f.inAsync), wrapEdit(src, f.wrap, name, f.inAsync)], preferred: !fixes.length, scope: 'process',
      });
    }
  }
  fixes.push(suppressFix(src, f.write.start.line, f.rule));
  return fixes;
}

function suppressFix(src: SourceLines, line: number, rule: string): QuickFix {
  const text = src.lines[line] ?? '';
  const m = SUPPRESS.exec(text);
  let edit: TextEdit;
  if (m && m[1] !== undefined) {
    const start = m.index + m[0].length - 1;   // before the closing bracket
    edit = { range: { start: { line, character: start }, end: { line, character: start } }, newText: `, ${rule}` };
  } else {
    const end = text.length;
    edit = { range: { start: { line, character: end }, end: { line, character: end } }, newText: `  # workerlens: ignore[${rule}]` };
  }
  return { title: `Suppress ${rule} on this line`, edits: [edit] };
}

/** Whether `# workerlens: ignore` / `ignore[RULE,...]` on the line suppresses `rule`. */
export function isSuppressed(lines: string[], line: number, rule: string): boolean {
  const m = SUPPRESS.exec(lines[line] ?? '');
  if (!m) return false;
  if (m[1] === undefined) return true;
  return m[1].split(',').map(s => s.trim()).includes(rule);
}
