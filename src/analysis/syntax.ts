// Small helpers over tree-sitter-python nodes.
import type { SyntaxNode } from './python';
import { Range } from './types';

export function rangeOf(n: SyntaxNode): Range {
  return { start: { line: n.startPosition.row, character: n.startPosition.column }, end: { line: n.endPosition.row, character: n.endPosition.column } };
}

export function isAsync(n: SyntaxNode): boolean {
  return n.child(0)?.type === 'async';
}

/** Call name as dotted text without arguments, e.g. `threading.Lock`, or '' when not a plain name/attribute chain. */
export function dottedName(n: SyntaxNode | null): string {
  if (!n) return '';
  if (n.type === 'identifier') return n.text;
  if (n.type === 'attribute') {
    const obj = dottedName(n.childForFieldName('object'));
    const attr = n.childForFieldName('attribute');
    return obj && attr ? `${obj}.${attr.text}` : '';
  }
  return '';
}

/** Last component of a dotted name. */
export function lastName(dotted: string): string {
  const i = dotted.lastIndexOf('.');
  return i < 0 ? dotted : dotted.slice(i + 1);
}

export function callArgs(call: SyntaxNode): { positional: SyntaxNode[]; keywords: Map<string, SyntaxNode> } {
  const positional: SyntaxNode[] = [];
  const keywords = new Map<string, SyntaxNode>();
  const args = call.childForFieldName('arguments');
  if (args && args.type === 'argument_list') {
    for (const a of args.namedChildren) {
      if (!a) continue;
      if (a.type === 'keyword_argument') {
        const name = a.childForFieldName('name'), value = a.childForFieldName('value');
        if (name && value) keywords.set(name.text, value);
      } else if (a.type !== 'comment') positional.push(a);
    }
  }
  return { positional, keywords };
}

/** Statements inside a block-like node (skips comments). */
export function statements(block: SyntaxNode | null): SyntaxNode[] {
  if (!block) return [];
  return block.namedChildren.filter((c): c is SyntaxNode => !!c && c.type !== 'comment');
}

/** Strips wrapping parentheses. */
export function unparen(n: SyntaxNode): SyntaxNode {
  while (n.type === 'parenthesized_expression' && n.namedChildCount === 1) n = n.namedChild(0)!;
  return n;
}

/** Text with whitespace collapsed, so `d[ k ]` and `d[k]` compare equal. */
export function norm(n: SyntaxNode): string {
  return n.text.replace(/\s+/g, '');
}

const LOCK_CTORS = /(^|\.)(Lock|RLock|Condition|BoundedSemaphore|Semaphore)$/;

/** Classifies a constructor call used as a lock: 'lock', 'semaphore' (count > 1: not mutual exclusion) or ''. */
export function lockKindOfCall(call: SyntaxNode): 'lock' | 'semaphore' | '' {
  if (call.type !== 'call') return '';
  const name = dottedName(call.childForFieldName('function'));
  const m = LOCK_CTORS.exec(name);
  if (!m) return '';
  if (m[2].endsWith('Semaphore')) {
    const { positional, keywords } = callArgs(call);
    const v = positional[0] ?? keywords.get('value');
    if (!v) return 'lock';            // default value is 1
    return v.type === 'integer' && Number(v.text) <= 1 ? 'lock' : 'semaphore';
  }
  return 'lock';
}
