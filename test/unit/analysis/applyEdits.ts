// Test helper: applies LSP-style text edits (0-based line/character) to a string.
import { TextEdit } from '../../../src/analysis/types';

export function applyEdits(text: string, edits: TextEdit[]): string {
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const offset = (p: { line: number; character: number }) => (p.line < lineStarts.length ? lineStarts[p.line] + p.character : text.length);
  // Apply from the end so earlier offsets stay valid; equal positions keep their given order.
  const sorted = edits.map((e, i) => ({ e, i, start: offset(e.range.start), end: offset(e.range.end) }))
    .sort((a, b) => b.start - a.start || b.i - a.i);
  let out = text;
  for (const { e, start, end } of sorted) out = out.slice(0, start) + e.newText + out.slice(end);
  return out;
}
