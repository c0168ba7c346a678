// `workerlens lint` over the whole CPython stdlib (wall time, findings; goal ≤ 15 s), and raw parse
// speed of web-tree-sitter + tree-sitter-python against CPython's own `ast.parse` on the same files.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listPythonFiles, lintFiles } from '../src/analysis/project';
import { PythonParser } from '../src/analysis/python';

function stdlibOf(python: string): string | undefined {
  try { return execFileSync(python, ['-c', "import sysconfig;print(sysconfig.get_paths()['stdlib'])"], { encoding: 'utf8' }).trim(); } catch { return undefined; }
}

async function main(): Promise<void> {
  const python = process.env.BENCH_PYTHON ?? 'python3';
  const stdlib = stdlibOf(python);
  if (!stdlib) { console.log(`lint bench: no ${python} on PATH; skipped`); return; }
  const files = listPythonFiles([stdlib]);
  const texts = new Map(files.map(f => [f, fs.readFileSync(f, 'utf8')]));
  const mb = [...texts.values()].reduce((n, t) => n + Buffer.byteLength(t), 0) / 1e6;
  console.log(`stdlib ${stdlib}: ${files.length} files, ${mb.toFixed(1)} MB (${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)})`);

  // 1. The whole lint, as `workerlens lint` runs it (reads files itself).
  const t0 = performance.now(), c0 = process.cpuUsage();
  const results = await lintFiles(files);
  const lintMs = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const byRule: Record<string, number> = {};
  for (const r of results) for (const f of r.findings) byRule[f.rule] = (byRule[f.rule] ?? 0) + 1;
  const total = Object.values(byRule).reduce((a, b) => a + b, 0);
  console.log(`lint whole stdlib: ${(lintMs / 1000).toFixed(2)} s wall (goal <= 15 s: ${lintMs <= 15000 ? 'met' : 'MISSED'}), ` +
    `${results.filter(r => r.parsed).length} files with concurrent code parsed and analysed, ${total} findings ${JSON.stringify(byRule)}, ` +
    `${results.filter(r => r.error).length} file errors, ${results.filter(r => r.syntaxErrors).length} with syntax errors; CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`);

  // 2. Parse every file, both parsers, text already in memory.
  const parser = await PythonParser.create();
  let errors = 0;
  const p0 = performance.now();
  for (const t of texts.values()) { const tree = parser.parse(t); if (tree.rootNode.hasError) errors++; tree.delete(); }
  const tsMs = performance.now() - p0;
  parser.dispose();
  const list = path.join(os.tmpdir(), `wl-bench-files-${process.pid}.txt`);
  fs.writeFileSync(list, files.join('\n'));
  try {
    const script = [
      'import ast, sys, time, warnings',
      'warnings.simplefilter("ignore")',
      'srcs = []',
      'for p in open(sys.argv[1]).read().split("\\n"):',
      '    with open(p, "rb") as f: srcs.append(f.read())',
      't = time.perf_counter(); bad = 0',
      'for s in srcs:',
      '    try: ast.parse(s)',
      '    except SyntaxError: bad += 1',
      'print(f"{(time.perf_counter() - t) * 1000:.0f} {bad}")',
    ].join('\n');
    const r = spawnSync(python, ['-c', script, list], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const [astMs, astBad] = (r.stdout || '').trim().split(' ').map(Number);
    console.log(`parse all ${files.length} files: web-tree-sitter ${(tsMs / 1000).toFixed(2)} s (${(mb / (tsMs / 1000)).toFixed(1)} MB/s, ${errors} with error nodes) | ` +
      `CPython ast.parse (${python}) ${Number.isFinite(astMs) ? `${(astMs / 1000).toFixed(2)} s (${(mb / (astMs / 1000)).toFixed(1)} MB/s, ${astBad} SyntaxError)` : `failed: ${r.stderr.trim().split('\n').pop()}`}` +
      (Number.isFinite(astMs) ? ` | ratio tree-sitter/ast ${(tsMs / astMs).toFixed(2)}x` : ''));
  } finally {
    fs.rmSync(list, { force: true });
  }
}

main().catch(e => { console.error(e); process.exit(1); });
