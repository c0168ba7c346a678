// Which files a lint leaves out: globs matched against the path relative to the folder being
// linted. `dir/` matches a directory of that name at any depth, a pattern with no `/` matches file
// names, any other pattern the whole relative path (`*` within a segment, `**` across segments).

/** Test code: findings there are about test fixtures, not the worker (override with --exclude / workerLens.races.exclude). */
export const DEFAULT_EXCLUDE: readonly string[] = ['tests/', 'test_*.py', '*_test.py', 'conftest.py'];

const cache = new Map<string, RegExp>();

function globRegex(glob: string): RegExp {
  let re = cache.get(glob);
  if (re) return re;
  let src = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') { src += '.*'; i++; if (glob[i + 1] === '/') i++; }
    else if (c === '*') src += '[^/]*';
    else if (c === '?') src += '[^/]';
    else src += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  re = new RegExp(`^${src}$`);
  cache.set(glob, re);
  return re;
}

/** `rel` uses `/`; directories end with `/`. */
export function isExcluded(rel: string, patterns: readonly string[]): boolean {
  const isDir = rel.endsWith('/');
  const parts = rel.replace(/\/$/, '').split('/');
  const name = parts[parts.length - 1];
  for (const raw of patterns) {
    const p = raw.trim();
    if (!p) continue;
    if (p.endsWith('/')) {
      const dirGlob = p.slice(0, -1);
      if (dirGlob.includes('/')) { if (isDir && globRegex(dirGlob).test(parts.join('/'))) return true; continue; }
      // A directory at any depth: the directory itself, when listing.
      if (isDir && globRegex(dirGlob).test(name)) return true;
      continue;
    }
    if (!p.includes('/')) { if (!isDir && globRegex(p).test(name)) return true; continue; }
    if (globRegex(p.replace(/^\.\//, '')).test(parts.join('/'))) return true;
  }
  return false;
}
