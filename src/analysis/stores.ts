// What kind of shared store an expression builds: a Redis client (built in place, from a factory
// or `get_redis_connection()`), a Django cache (`cache`, `caches[...]`), a multiprocessing Manager
// or one of its proxies. Used for module globals, class attributes, `self.x = …` and locals alike.
import type { SyntaxNode } from './python';
import { dottedName, lastName, unparen } from './syntax';

export type StoreTag = 'redis' | 'djcache' | 'mpmanager' | 'mpproxy';

/** The Django cache module: `from django.core.cache import cache, caches`. */
export const DJANGO_CACHE_MODULE = 'django.core.cache';

const REDIS_FACTORY = /(^|\.)(Redis|StrictRedis|from_url|get_redis_connection)$|redis/i;
const MANAGER_CTOR = /(^|\.)(Manager|SyncManager)$/;
const PROXY_METHODS = new Set(['dict', 'list', 'Namespace', 'Value', 'Array']);

/**
 * Tag of the value `value` evaluates to; `tagOf` gives the tag of a name already known
 * (module symbol, class attribute or local) so `m = Manager(); d = m.dict()` chains.
 */
export function storeTagOfValue(value: SyntaxNode | null, tagOf: (name: string) => StoreTag | undefined): StoreTag | undefined {
  if (!value) return undefined;
  const v = unparen(value);
  if (v.type === 'subscript') {
    // caches["default"]
    const base = dottedName(v.childForFieldName('value'));
    if (base === 'caches' || base.endsWith('.caches') || tagOf(base) === 'djcache') return 'djcache';
    return undefined;
  }
  if (v.type === 'identifier' || v.type === 'attribute') {
    const name = dottedName(v);
    return name ? tagOf(name) : undefined;
  }
  if (v.type !== 'call') return undefined;
  const fn = v.childForFieldName('function');
  const callee = dottedName(fn);
  if (!callee) return undefined;
  const last = lastName(callee);
  // `multiprocessing.Manager()`, `mp.Manager()`, or `Manager()` imported from multiprocessing.
  if (MANAGER_CTOR.test(callee) && (callee === last ? tagOf(callee) === 'mpmanager' : /multiprocessing|^mp\.|managers/.test(callee))) return 'mpmanager';
  if (fn?.type === 'attribute' && PROXY_METHODS.has(last)) {
    const recv = dottedName(fn.childForFieldName('object'));
    if (recv && tagOf(recv) === 'mpmanager') return 'mpproxy';
  }
  // A lock or pipeline from a client is not the client itself.
  if (/(^|\.)(lock|Lock|pipeline)$/.test(callee)) return undefined;
  // A factory function of this module that returns a client: `def get_client(): return Redis()`.
  const made = tagOf(`${callee}()`);
  if (made) return made;
  if (REDIS_FACTORY.test(callee)) return 'redis';
  return undefined;
}

/** The tag of a module symbol; `name()` asks what calling the function `name` returns. */
export function symbolTag(symbols: Map<string, { kind: string; store?: StoreTag }>, name: string): StoreTag | undefined {
  if (name.endsWith('()')) { const s = symbols.get(name.slice(0, -2)); return s?.kind === 'function' ? s.store : undefined; }
  const s = symbols.get(name);
  return s?.kind === 'function' ? undefined : s?.store;
}

/** `from django.core.cache import cache [as c]`: the name is the default Django cache. */
export function importTag(module: string, orig: string): StoreTag | undefined {
  if (module === DJANGO_CACHE_MODULE && orig === 'cache') return 'djcache';
  if (/^multiprocessing(\.managers)?$/.test(module) && (orig === 'Manager' || orig === 'SyncManager')) return 'mpmanager';
  return undefined;
}
