// One open document: its text, a tree kept in step with incremental edits, and its analyzer
// (whose per-function cache makes re-analysis after an edit cost only the changed function).
import { TextDocument, TextDocumentContentChangeEvent } from 'vscode-languageserver-textdocument';
import { AnalyzeOptions, ModuleAnalyzer, ModuleResult } from '../analysis/analyzer';
import { PythonParser, Tree } from '../analysis/python';

interface Point { row: number; column: number }

function endPoint(start: Point, text: string): Point {
  const lines = text.split(/\r\n|\r|\n/);
  return lines.length === 1 ? { row: start.row, column: start.column + text.length } : { row: start.row + lines.length - 1, column: lines[lines.length - 1].length };
}

export class AnalyzedDocument {
  private tree: Tree | undefined;
  private readonly analyzer = new ModuleAnalyzer();
  result: ModuleResult | undefined;

  constructor(public doc: TextDocument) {}

  get uri(): string { return this.doc.uri; }
  get version(): number { return this.doc.version; }

  /** Applies LSP content changes in order, editing the tree so the next parse is incremental. */
  update(changes: TextDocumentContentChangeEvent[], version: number): void {
    for (const change of changes) {
      if (this.tree && 'range' in change) {
        const startIndex = this.doc.offsetAt(change.range.start);
        const oldEndIndex = this.doc.offsetAt(change.range.end);
        const startPosition = { row: change.range.start.line, column: change.range.start.character };
        this.tree.edit({
          startIndex, oldEndIndex, newEndIndex: startIndex + change.text.length,
          startPosition, oldEndPosition: { row: change.range.end.line, column: change.range.end.character },
          newEndPosition: endPoint(startPosition, change.text),
        } as Parameters<Tree['edit']>[0]);
      } else if (!('range' in change)) {
        this.tree?.delete();
        this.tree = undefined;
      }
      this.doc = TextDocument.update(this.doc, [change], version);
    }
  }

  /** Re-parses (incrementally when possible) and analyses. */
  analyze(parser: PythonParser, opts: AnalyzeOptions): ModuleResult {
    const text = this.doc.getText();
    const tree = parser.parse(text, this.tree);
    this.tree?.delete();
    this.tree = tree;
    this.result = this.analyzer.analyze(tree, text, opts);
    return this.result;
  }

  /** After a crash the tree may be inconsistent: start over from the text. */
  reset(): void {
    this.tree?.delete();
    this.tree = undefined;
  }

  dispose(): void { this.reset(); }
}
