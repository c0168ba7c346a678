// Loads web-tree-sitter and the tree-sitter-python grammar once per process.
// The wasm files sit next to the bundle in dist/ (esbuild copies them); from out/ (tsc, tests)
// they are resolved from node_modules.
import fs from 'node:fs';
import path from 'node:path';
// `import = require` so bundlers pick the package's CommonJS build (the ESM one needs import.meta.url).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- see above: the CJS build is required
import TreeSitter = require('web-tree-sitter');

export type SyntaxNode = TreeSitter.Node;
export type Tree = TreeSitter.Tree;
type Language = TreeSitter.Language;
const { Language, Parser } = TreeSitter;

function findWasm(file: string, pkg: string): string {
  const candidates = [path.join(__dirname, file), path.join(__dirname, '..', file)];
  try { candidates.push(require.resolve(`${pkg}/${file}`)); } catch { /* not resolvable from here */ }
  try { candidates.push(path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file)); } catch { /* idem */ }
  const found = candidates.find(c => fs.existsSync(c));
  if (!found) throw new Error(`cannot find ${file} (looked in ${candidates.join(', ')}): reinstall Worker Lens or run \`npm install\``);
  return found;
}

let languagePromise: Promise<Language> | undefined;

/** The Python grammar, loaded once. */
export function loadPython(): Promise<Language> {
  languagePromise ??= (async () => {
    const runtime = findWasm('web-tree-sitter.wasm', 'web-tree-sitter');
    await Parser.init({ locateFile: () => runtime });
    return Language.load(fs.readFileSync(findWasm('tree-sitter-python.wasm', 'tree-sitter-python')));
  })();
  return languagePromise;
}

/** A parser bound to Python. Not thread-safe (wasm): one per analysis pipeline. */
export class PythonParser {
  private constructor(private readonly parser: TreeSitter.Parser) {}

  static async create(): Promise<PythonParser> {
    const language = await loadPython();   // also runs Parser.init()
    const parser = new Parser();
    parser.setLanguage(language);
    return new PythonParser(parser);
  }

  /** Parses `text`; pass the previous (edited) tree for an incremental re-parse. Caller deletes the tree. */
  parse(text: string, old?: Tree): Tree {
    const tree = this.parser.parse(text, old ?? null);
    if (!tree) throw new Error('the Python parser returned no tree (parse cancelled or out of memory)');
    return tree;
  }

  dispose(): void { this.parser.delete(); }
}
