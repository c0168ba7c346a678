// Walks one concurrent function in execution order and reports read-modify-write, check-then-act,
// split lock regions, Redis get/set, Django read-modify-save and file read/write-back.
import type { SyntaxNode } from './python';
import { Context } from './contexts';
import { FunctionInfo, ModuleFacts } from './moduleFacts';
import { Access, LockRelation, Point, SharedState, lockRelation, sameState } from './state';
import { CacheSummaries, instantiate } from './cacheSummaries';
import { StoreTag, storeTagOfValue, symbolTag } from './stores';
import { callArgs, dottedName, isAsync, lastName, lockKindOfCall, norm, rangeOf, statements, unparen } from './syntax';
import { Range, RuleId, TextEdit } from './types';

/** A finding before messages and fixes: plain data, so it can be cached and moved with its function. */
export interface RawFinding {
  rule: RuleId;
  pattern: 'rmw' | 'check' | 'split' | 'orm' | 'file' | 'wait' | 'claim' | 'exists' | 'celery';
  state: { display: string; what: string; globalName?: string; root: string };
  write: Range;
  read: Range;
  /** Lines [start, end] of the statements to wrap in one lock, when that is a clean edit. */
  wrap?: { start: number; end: number };
  /** Lock held at the read in a split-region finding. */
  lock?: string;
  /** An await lies between read and write (async contexts): its line. */
  awaitLine?: number;
  /** Calls (possible I/O) run between the read and the write. */
  callsBetween: boolean;
  /** Rule-specific rewrite of the write (Redis INCRBY, Django F()). */
  rewrite?: { title: string; edits: TextEdit[]; importF?: boolean };
  inAsync: boolean;
  /** The state is a multiprocessing Manager proxy (shared across processes). */
  proxy?: boolean;
  /** 'wait': the blocking call between read and write, and its line. */
  wait?: { call: string; line: number };
  /** WL105 through a helper: the helper's name. */
  helper?: string;
  /** Rules with their own wording (Celery semantics): the message, already written. */
  message?: string;
  relatedMessage?: string;
  /** Further fixes after `rewrite` (e.g. `delay_on_commit` besides `on_commit`). */
  moreFixes?: { title: string; edits: TextEdit[]; imports?: string[] }[];
  /** Import lines `rewrite` needs (added after the module's imports when the name is missing). */
  imports?: { name: string; line: string }[];
}

/** A lock seen guarding a state somewhere: offered by the "wrap in the existing lock" fix. */
export interface Guard { root: string; lock: string; async: boolean; className?: string }

const READ_METHODS = new Set(['get', 'keys', 'values', 'items', 'copy', 'count', 'index', '__getitem__', '__contains__']);
// set.add is idempotent: `if x not in s: s.add(x)` ends in the same set whatever the interleaving.
const ACT_METHODS = new Set(['append', 'extend', 'insert', 'update', 'pop', 'popleft', 'popitem', 'remove', 'clear',
  'appendleft', 'extendleft', 'sort', 'reverse', '__setitem__', '__delitem__']);
const PURE_CALLS = new Set(['len', 'int', 'str', 'float', 'bool', 'isinstance', 'min', 'max', 'abs', 'round', 'sorted', 'list', 'dict',
  'set', 'tuple', 'range', 'enumerate', 'zip', 'getattr', 'hasattr', 'repr', 'type', 'sum', 'any', 'all', 'frozenset', 'id', 'hash', 'F']);
const REDIS_READ = new Set(['get', 'hget', 'exists', 'hexists', 'hgetall', 'sismember', 'llen', 'hlen', 'scard']);
const REDIS_WRITE = new Set(['set', 'hset', 'setex', 'psetex', 'hmset', 'mset']);
const REDIS_CTOR = /(^|\.)(Redis|StrictRedis|from_url)$/;
const LOCK_NAME = /lock|mutex|^_*cv$|^_*cond(ition)?$|_cond$/i;
// Calls that block (sleep, network, processes): a read before one and a write after it span the wait.
const BLOCKING = /(^|\.)(sleep|urlopen|recv|recvfrom|sendall|connect|communicate|wait|join|result|check_output|check_call|run|Popen)$|^(requests|httpx|session|self\.session|urllib\.request|subprocess)\.(get|post|put|patch|delete|head|request|urlopen|run|call)$/;
// Values a lock stores: when, by whom — not data.
const TIMEISH = /(^|\.)(time|now|now_unix|utcnow|monotonic|getpid|gethostname|uuid[14]?|timestamp|isoformat|str|int)$/;
const REMOVALS = new Set(['pop', 'popleft', 'popitem', 'remove']);
const DJCACHE_READ = new Set(['get', 'has_key', 'get_many']);
const DJCACHE_WRITE = new Set(['set', 'set_many']);
const ORM_FETCH = /\.objects\b[\s\S]*\.(get|first|last|earliest|latest|get_or_create|aget|afirst)$|^(get_object_or_404|aget_object_or_404)$/;

export class FunctionWalker {
  readonly findings: RawFinding[] = [];
  readonly guards: Guard[] = [];
  private readonly locals = new Set<string>();
  private readonly globals = new Set<string>();
  private readonly nonlocals = new Set<string>();
  private readonly selfName: string | undefined;
  private held: Map<string, number> = new Map();
  private lockSeq = 0;
  private readonly awaitLines: number[] = [];
  private calls = 0;
  private atomicDepth = 0;
  private readonly taints = new Map<string, Access[]>();
  private readonly checks: Access[][] = [];
  private readonly fileReads: Access[] = [];
  private readonly redisLocals = new Set<string>();
  private readonly orm = new Map<string, { fetch: SyntaxNode; safe: boolean; mods: { node: SyntaxNode; read: SyntaxNode; rewrite?: RawFinding['rewrite']; callsBetween: boolean }[] }>();
  private readonly reported = new Set<number>();
  private stmt: SyntaxNode;
  private readonly async: boolean;
  private readonly usesWatch: boolean;
  /** Every shared read so far, in order (read → wait → write). */
  private readonly reads: Access[] = [];
  private waits = 0;
  private readonly waitAt: { call: string; line: number }[] = [];
  private readonly localTags = new Map<string, StoreTag>();
  /** `if not M.objects.filter(...).exists():` checks alive here. */
  private readonly existsChecks: { model: string; cond: SyntaxNode; ifStmt: SyntaxNode; negated: boolean }[] = [];
  private propertyDepth = 0;
  /** `w = Cls(...)`: locals bound to a constructed object (to find its methods' cache summaries). */
  private readonly localCtors = new Map<string, string>();
  /** `lk = _lock`: locals naming a lock. */
  private readonly lockAliases = new Map<string, string>();
  /** Locals: where they were last assigned (start index of the statement). */
  private readonly assignedAt = new Map<string, number>();
  /** Texts of other functions this walk looked into (cache validity). */
  readonly deps: { name: string; text: string }[] = [];
  private enclosingLocals: { fn: FunctionInfo; locals: Set<string> }[] | undefined;

  constructor(private readonly fn: FunctionInfo, private readonly ctx: Context, private readonly facts: ModuleFacts, private readonly lines: string[],
    private readonly cacheMethods: CacheSummaries = new Map()) {
    this.stmt = fn.node;
    this.async = fn.isAsync;
    const params = fn.node.childForFieldName('parameters');
    const first = params?.namedChildren.find(p => !!p);
    const firstName = first ? (first.type === 'identifier' ? first.text : first.childForFieldName('name')?.text) : undefined;
    const isStatic = fn.decorators.some(d => d.text === 'staticmethod');
    if ((fn.className || ctx.selfShared) && !isStatic && firstName) this.selfName = firstName;
    if (fn.decorators.some(d => /(^|\.)atomic$/.test(dottedName(d.type === 'call' ? d.childForFieldName('function') : d)))) this.atomicDepth = 1;
    this.usesWatch = /\.watch\(/.test(fn.node.text);
    this.collectScope(params);
    for (const p of params?.namedChildren ?? []) {
      // def task(r: redis.Redis) / def task(redis_conn): a client passed in
      if (!p || (p.type !== 'typed_parameter' && p.type !== 'typed_default_parameter')) continue;
      const name = p.type === 'typed_parameter' ? p.namedChild(0)?.text : p.childForFieldName('name')?.text;
      const type = p.childForFieldName('type')?.text ?? '';
      if (name && /Redis\b/.test(type)) this.localTags.set(name, 'redis');
    }
  }

  run(): void {
    this.block(this.fn.node.childForFieldName('body'));
  }

  // ---- scope -------------------------------------------------------------------------------

  private collectScope(_params: SyntaxNode | null): void {
    const sc = scopeNames(this.fn.node);
    for (const n of sc.locals) this.locals.add(n);
    for (const n of sc.globals) this.globals.add(n);
    for (const n of sc.nonlocals) this.nonlocals.add(n);
  }

  // ---- shared-state resolution --------------------------------------------------------------

  private isLocal(name: string): boolean { return this.locals.has(name) && !this.globals.has(name); }

  private resolve(n: SyntaxNode): SharedState | null {
    // Code no concurrent caller reaches: only cross-process stores (Redis, Django cache) are shared.
    if (this.ctx.kind === 'process') return null;
    n = unparen(n);
    if (n.type === 'identifier') {
      const name = n.text;
      if (this.nonlocals.has(name)) {
        // Shared only when this closure itself is what the threads run (one closure, many threads).
        if (this.ctx.kind !== 'thread' || this.ctx.entry !== this.fn.qualName) return null;
        return { kind: 'mem', root: `nonlocal:${name}`, display: name, what: `\`${name}\` of enclosing function \`${this.fn.parent?.qualName ?? '?'}\`` };
      }
      if (this.isLocal(name) || name === this.selfName) return null;
      const sym = this.facts.symbols.get(name);
      if (!sym) return this.captured(name);
      if (!['var', 'instance', 'imported'].includes(sym.kind)) return null;
      if (sym.store === 'mpproxy') return { kind: 'mem', root: name, display: name, what: `\`${name}\`, a multiprocessing Manager proxy every process shares`, globalName: name, proxy: true };
      if (sym.store) return null;   // clients and caches: their operations are handled as calls
      return { kind: 'mem', root: name, display: name, what: `module global \`${name}\``, globalName: name };
    }
    if (n.type === 'attribute') {
      const obj = unparen(n.childForFieldName('object')!);
      const attr = n.childForFieldName('attribute')?.text ?? '';
      if (obj.type === 'identifier') {
        const name = obj.text;
        if (name === this.selfName && !this.isLocalRebound(name)) {
          if (!this.ctx.selfShared) return null;
          const cls = this.fn.className;
          const boundTask = !cls || (this.facts.classes.get(cls)?.bases.some(b => lastName(b) === 'Task') ?? false);
          const what = this.ctx.kind === 'celery' && boundTask
            ? `\`${name}.${attr}\` (a bound task object is shared by every run in a worker process)`
            : `\`${name}.${attr}\` (one ${cls ? `\`${cls}\`` : 'shared'} object serves every concurrent run)`;
          return { kind: 'mem', root: `self.${attr}`, display: `${name}.${attr}`, what };
        }
        if (this.isLocal(name)) return null;
        const sym = this.facts.symbols.get(name);
        if (!sym) return null;
        switch (sym.kind) {
          case 'class': return { kind: 'mem', root: `${name}.${attr}`, display: `${name}.${attr}`, what: `class attribute \`${name}.${attr}\``, globalName: name };
          case 'module': return { kind: 'mem', root: `${name}.${attr}`, display: `${name}.${attr}`, what: `\`${attr}\`, a global of imported module \`${sym.ref ?? name}\``, globalName: name };
          case 'var': case 'instance': case 'imported':
            return { kind: 'mem', root: `${name}.${attr}`, display: `${name}.${attr}`, what: `attribute \`${attr}\` of module-level object \`${name}\``, globalName: name };
          default: return null;
        }
      }
      const base = this.resolve(obj);
      if (!base || base.kind !== 'mem') return null;
      const root = base.key !== undefined ? `${base.root}[${base.key}].${attr}` : `${base.root}.${attr}`;
      return { ...base, root, key: undefined, display: `${base.display}.${attr}`, what: base.what.replace(/`[^`]*`/, `\`${base.display}.${attr}\``) };
    }
    if (n.type === 'subscript') {
      const base = this.resolve(n.childForFieldName('value')!);
      if (!base || base.kind !== 'mem') return null;
      const keyNode = n.childForFieldName('subscript');
      const key = keyNode ? norm(keyNode) : '';
      if (base.key !== undefined) return { ...base, root: `${base.root}[${base.key}]`, key, display: `${base.display}[${key}]` };
      return { ...base, key, display: `${base.display}[${keyNode?.text ?? ''}]`, what: base.what };
    }
    return null;
  }

  /**
   * A local of an enclosing function used by this closure, when this closure is what the
   * threads run: one object (set, list, dict, client) shared by all of them.
   */
  private captured(name: string): SharedState | null {
    if (this.ctx.kind !== 'thread' || this.ctx.entry !== this.fn.qualName || !this.fn.parent) return null;
    this.enclosingLocals ??= (() => {
      const out: { fn: FunctionInfo; locals: Set<string> }[] = [];
      for (let p: FunctionInfo | undefined = this.fn.parent; p; p = p.parent) out.push({ fn: p, locals: scopeNames(p.node).locals });
      return out;
    })();
    const owner = this.enclosingLocals.find(e => e.locals.has(name));
    if (!owner) return null;
    return { kind: 'mem', root: `closure:${owner.fn.qualName}.${name}`, display: name, what: `\`${name}\` (a local of \`${owner.fn.qualName}\` every thread running \`${this.fn.name}\` shares)` };
  }

  /** The store a receiver holds (Redis client, Django cache, Manager), from locals, `self.x`, class attributes and globals. */
  private storeOf(recv: SyntaxNode): StoreTag | undefined {
    return storeTagOfValue(recv, name => {
      if (this.localTags.has(name)) return this.localTags.get(name);
      if (this.isLocal(name)) return undefined;
      const dot = name.indexOf('.');
      if (dot > 0) {
        const head = name.slice(0, dot), attr = name.slice(dot + 1);
        const cls = head === this.selfName || head === 'cls' ? this.facts.classes.get(this.fn.className ?? '') : this.facts.symbols.get(head)?.kind === 'class' ? this.facts.classes.get(head) : undefined;
        return cls?.attrTags.get(attr);
      }
      return symbolTag(this.facts.symbols, name);
    });
  }

  /** `self` reassigned inside the method is no longer the shared object. */
  private isLocalRebound(_name: string): boolean { return false; }

  private point(): Point { return { held: this.held, awaits: this.awaitLines.length, calls: this.calls, waits: this.waits }; }

  private access(state: SharedState, node: SyntaxNode): Access {
    const a: Access = { state, node, stmt: this.stmt, at: this.point() };
    this.reads.push(a);
    for (const [lock] of this.held) {
      this.guards.push({ root: state.root, lock, async: false, ...(lock.startsWith('self.') && this.fn.className ? { className: this.fn.className } : {}) });
      break;
    }
    return a;
  }

  // ---- locks ----------------------------------------------------------------------------------

  /** Lock key for `with X:` / `X.acquire()`, or '' when X is not mutual exclusion. */
  private lockKey(n: SyntaxNode): string {
    n = unparen(n);
    if (n.type === 'call') {
      // `with threading.Lock():` makes a new lock each time: it protects nothing.
      if (lockKindOfCall(n)) return '';
      const callee = dottedName(n.childForFieldName('function'));
      const last = lastName(callee);
      // `with get_lock():` where the module function returns a module lock: that lock.
      const accessor = !callee.includes('.') ? this.facts.functions.find(f => f.qualName === callee) : undefined;
      if (accessor) {
        for (const r of accessor.node.descendantsOfType('return_statement')) {
          const v = r?.namedChild(0);
          if (v && (v.type === 'identifier' || v.type === 'attribute') && this.facts.symbols.get(dottedName(v))?.kind === 'lock') return dottedName(v);
        }
      }
      if ((last === 'lock' || last === 'Lock' || last === 'FileLock' || last === 'RedLock') && callee.includes('.')) return norm(n);
      if (last === 'FileLock' || last === 'flock') return norm(n);
      return '';
    }
    if (n.type !== 'identifier' && n.type !== 'attribute') return '';
    const text = dottedName(n);
    if (!text) return '';
    const alias = this.lockAliases.get(text);
    if (alias) return alias;
    // self.x built as a lock in a method (`self.all_tasks_done = threading.Condition(self.mutex)`).
    if (text.startsWith(`${this.selfName}.`) && this.fn.className) {
      const ctor = this.facts.classes.get(this.fn.className)?.attrCtors.get(text.slice(text.indexOf('.') + 1));
      if (ctor && /(^|\.)(Lock|RLock|Condition)$/.test(ctor)) return `self.${text.slice(text.indexOf('.') + 1)}`;
    }
    const sym = this.facts.symbols.get(text);
    if (sym?.kind === 'lock') return text;
    if (sym?.kind === 'semaphore') return '';
    return LOCK_NAME.test(lastName(text)) && !/sem/i.test(lastName(text)) ? text : '';
  }

  private acquire(key: string): void {
    const next = new Map(this.held);
    next.set(key, ++this.lockSeq);
    this.held = next;
  }

  private release(key: string): void {
    if (!this.held.has(key)) return;
    const next = new Map(this.held);
    next.delete(key);
    this.held = next;
  }

  // ---- statements ---------------------------------------------------------------------------

  private block(block: SyntaxNode | null): void {
    const depth = this.checks.length, existsDepth = this.existsChecks.length;
    for (const s of statements(block)) {
      this.statement(s);
    }
    this.checks.length = depth;
    this.existsChecks.length = existsDepth;
  }

  private statement(s: SyntaxNode): void {
    const saved = this.stmt;
    this.stmt = s;
    try {
      switch (s.type) {
        case 'expression_statement':
          for (const e of s.namedChildren) if (e) this.exprStatement(e);
          break;
        case 'if_statement': this.ifStatement(s); break;
        case 'while_statement': {
          const cond = this.condition(s.childForFieldName('condition'));
          this.checks.push(cond);
          this.block(s.childForFieldName('body'));
          this.checks.pop();
          this.clauses(s, ['else_clause']);
          break;
        }
        case 'for_statement': {
          const right = s.childForFieldName('right');
          const reads = right ? this.expr(right) : [];
          if (isAsync(s)) this.awaitAt(s);
          this.bindLocal(s.childForFieldName('left'), reads);
          this.block(s.childForFieldName('body'));
          this.clauses(s, ['else_clause']);
          break;
        }
        case 'with_statement': this.withStatement(s); break;
        case 'try_statement':
          this.block(s.childForFieldName('body'));
          this.clauses(s, ['except_clause', 'except_group_clause', 'else_clause', 'finally_clause']);
          break;
        case 'delete_statement':
          for (const t of s.namedChildren) {
            if (!t) continue;
            for (const target of t.type === 'expression_list' ? t.namedChildren : [t]) {
              if (!target) continue;
              if (target.type === 'subscript') { this.expr(target.childForFieldName('subscript')!); }
              const st = this.resolve(target);
              if (st) this.act(st, s, true);
            }
          }
          break;
        case 'return_statement': case 'raise_statement': case 'assert_statement': case 'print_statement':
          for (const e of s.namedChildren) if (e) this.expr(e);
          break;
        case 'match_statement':
          for (const e of s.namedChildren) {
            if (!e) continue;
            if (e.type === 'block') for (const c of e.namedChildren) { const b = c?.childForFieldName('consequence'); if (b) this.block(b); }
            else this.expr(e);
          }
          break;
        case 'ERROR':
        case 'function_definition': case 'class_definition': case 'decorated_definition':
        case 'global_statement': case 'nonlocal_statement': case 'pass_statement': case 'break_statement': case 'continue_statement':
        case 'import_statement': case 'import_from_statement': case 'future_import_statement':
          break;
        default:
          for (const e of s.namedChildren) if (e && e.type !== 'block') this.expr(e);
      }
    } finally {
      this.stmt = saved;
    }
  }

  private clauses(s: SyntaxNode, types: string[]): void {
    for (const c of s.namedChildren) {
      if (!c || !types.includes(c.type)) continue;
      for (const b of c.namedChildren) {
        if (b?.type === 'block') this.block(b);
        else if (b && c.type.startsWith('except')) {
          // `except E as e:` binds e; the exception expression is evaluated
          const v = b.type === 'as_pattern' ? b.namedChild(0) : b;
          if (v) this.expr(v);
        }
      }
    }
  }

  private ifStatement(s: SyntaxNode): void {
    const depth = this.checks.length, existsDepth = this.existsChecks.length;
    const exists = this.ctx.kind === 'process' ? undefined : existsCheck(s.childForFieldName('condition'), s);
    if (exists?.negated) this.existsChecks.push(exists);
    this.checks.push(this.condition(s.childForFieldName('condition')));
    const before = this.held;
    const consequence = s.childForFieldName('consequence');
    this.block(consequence);
    this.held = before;
    let hasElse = false;
    for (const alt of s.childrenForFieldName('alternative')) {
      if (!alt) continue;
      if (alt.type === 'elif_clause') {
        this.checks.push(this.condition(alt.childForFieldName('condition')));
        this.block(alt.childForFieldName('consequence'));
      } else {
        hasElse = true;
        this.block(alt.childForFieldName('body'));
      }
      this.held = before;
    }
    this.checks.length = depth;
    this.existsChecks.length = existsDepth;
    // Guard clause: `if k in cache: return cache[k]` keeps its check alive for the rest of the block.
    if (!hasElse && exits(consequence)) {
      this.checks.push(this.condition(s.childForFieldName('condition'), true));
      if (exists && !exists.negated) this.existsChecks.push(exists);
    }
  }

  /** Accesses read by a condition, directly or through locals that hold shared values. */
  private condition(c: SyntaxNode | null, quiet = false): Access[] {
    if (!c) return [];
    if (quiet) {
      // Re-evaluating for a guard clause must not count calls or awaits twice.
      const saved = { calls: this.calls, awaits: this.awaitLines.length, held: this.held };
      const r = this.expr(c);
      this.calls = saved.calls; this.awaitLines.length = saved.awaits; this.held = saved.held;
      return r;
    }
    return this.expr(c);
  }

  private withStatement(s: SyntaxNode): void {
    const before = this.held, atomicBefore = this.atomicDepth;
    const async = isAsync(s);
    const clause = s.namedChildren.find(c => c?.type === 'with_clause');
    for (const item of clause?.namedChildren ?? []) {
      if (!item || item.type !== 'with_item') continue;
      let value = item.childForFieldName('value');
      let alias: SyntaxNode | null = null;
      if (value?.type === 'as_pattern') { alias = value.childForFieldName('alias')?.namedChild(0) ?? null; value = value.namedChild(0); }
      if (!value) continue;
      const key = this.lockKey(value);
      if (key) { this.acquire(key); continue; }
      if (/(^|\.)atomic$/.test(dottedName(value.type === 'call' ? value.childForFieldName('function') : value))) { this.atomicDepth++; continue; }
      const reads = this.expr(value);
      if (alias) this.bindLocal(alias, reads);
    }
    if (async) this.awaitAt(s);
    this.block(s.childForFieldName('body'));
    if (async) this.awaitAt(s);
    this.held = before;
    this.atomicDepth = atomicBefore;
  }

  private awaitAt(n: SyntaxNode): void { this.awaitLines.push(n.startPosition.row); }

  // ---- assignments ----------------------------------------------------------------------------

  private exprStatement(e: SyntaxNode): void {
    if (e.type === 'assignment') this.assignment(e);
    else if (e.type === 'augmented_assignment') this.augmented(e);
    else this.expr(e);
  }

  private assignment(a: SyntaxNode): void {
    const targets: SyntaxNode[] = [];
    let value: SyntaxNode | null = a;
    while (value && value.type === 'assignment') {
      const left = value.childForFieldName('left');
      if (left) targets.push(left);
      value = value.childForFieldName('right');
    }
    if (!value) return;   // annotation only
    const reads = this.expr(value);
    const fetch = this.ctx.kind === 'process' ? undefined : ormFetch(value);
    for (const t of targets) this.store(t, value, reads, a, fetch);
  }

  private store(t: SyntaxNode, value: SyntaxNode | null, reads: Access[], stmtNode: SyntaxNode, fetch?: { safe: boolean; node: SyntaxNode }): void {
    t = unparen(t);
    if (t.type === 'identifier' && this.isLocal(t.text)) {
      this.bindLocal(t, reads);
      this.assignedAt.set(t.text, stmtNode.startIndex);
      if (fetch) this.orm.set(t.text, { fetch: fetch.node, safe: fetch.safe && this.atomicDepth > 0, mods: [] });
      else this.orm.delete(t.text);
      if (value && value.type === 'call' && REDIS_CTOR.test(dottedName(value.childForFieldName('function')))) this.redisLocals.add(t.text);
      const tag = value ? this.storeOf(value) : undefined;
      if (tag) this.localTags.set(t.text, tag); else this.localTags.delete(t.text);
      const ctor = value?.type === 'call' ? dottedName(value.childForFieldName('function')) : '';
      if (ctor && /^[A-Z]/.test(lastName(ctor))) this.localCtors.set(t.text, lastName(ctor)); else this.localCtors.delete(t.text);
      const lock = value && (value.type === 'identifier' || value.type === 'attribute' || value.type === 'call') ? this.lockKey(value) : '';
      if (lock) this.lockAliases.set(t.text, lock); else this.lockAliases.delete(t.text);
      return;
    }
    if (['pattern_list', 'tuple_pattern', 'tuple', 'list_pattern', 'list', 'expression_list'].includes(t.type)) {
      const parts = t.namedChildren.filter((c): c is SyntaxNode => !!c);
      parts.forEach((p, i) => this.store(p, null, reads, stmtNode, i === 0 ? fetch : undefined));
      return;
    }
    if (t.type === 'subscript') this.expr(t.childForFieldName('subscript')!);
    if (t.type === 'attribute') this.ormModification(t, value, reads, false);
    const state = this.resolve(t);
    if (state) this.write(state, stmtNode, reads, null);
  }

  private augmented(a: SyntaxNode): void {
    const t = unparen(a.childForFieldName('left')!);
    if (t.type === 'subscript') this.expr(t.childForFieldName('subscript')!);
    const state = this.resolve(t);
    const self = state ? this.access(state, t) : null;
    const valueNode = a.childForFieldName('right');
    const reads = valueNode ? this.expr(valueNode) : [];
    if (t.type === 'identifier' && this.isLocal(t.text)) { this.bindLocal(t, [...(this.taints.get(t.text) ?? []), ...reads]); return; }
    if (t.type === 'attribute') this.ormModification(t, valueNode, reads, true, a);
    if (state && self) this.write(state, a, reads, self);
  }

  private bindLocal(t: SyntaxNode | null, reads: Access[]): void {
    if (!t) return;
    if (t.type === 'identifier') {
      if (reads.length) this.taints.set(t.text, reads); else this.taints.delete(t.text);
      return;
    }
    for (const c of t.namedChildren) this.bindLocal(c, reads);
  }

  // ---- events ---------------------------------------------------------------------------------

  /** A store to shared state: check-then-act if a live check read it, else read-modify-write if the value did. */
  private write(state: SharedState, node: SyntaxNode, valueReads: Access[], selfRead: Access | null): void {
    const at = this.point();
    const check = this.matchCheck(state);
    if (check) { this.report(check, state, node, at, 'check'); return; }
    const loose = state.kind !== 'mem';
    const read = selfRead ?? valueReads.find(r => sameState(r.state, state, loose));
    if (read) { this.report(read, state, node, at, 'rmw'); return; }
    if (state.kind === 'file') {
      const prior = this.fileReads.find(r => r.state.root === state.root);
      if (prior) this.report(prior, state, node, at, 'rmw');
      return;
    }
    // read → wait (sleep, network) → write of the same entry: every run reads the same old value
    // during the wait (a per-domain throttle that lets all threads through together).
    if (state.kind === 'mem' && state.key !== undefined && at.waits > 0) {
      const prior = this.reads.find(r => r.state.root === state.root && r.state.key === state.key && r.at.waits < at.waits && r.node.id !== node.id);
      if (prior) this.report(prior, state, node, at, 'wait');
    }
  }

  /** `seen.add(x)` after `if x not in seen:` is idempotent alone, but a claim when the check guards other work. */
  private claim(state: SharedState, node: SyntaxNode): void {
    const check = this.matchCheck(state, true, false);
    if (!check) return;
    const block = this.stmt.parent;
    const others = statements(block).filter(st => st.id !== this.stmt.id && st.type !== 'pass_statement' && !(st.type === 'expression_statement' && st.namedChild(0)?.type === 'string'));
    if (others.length && block?.id !== check.stmt.parent?.id) this.report(check, state, node, this.point(), 'claim');
    else if (others.some(o => o.startIndex > this.stmt.startIndex)) this.report(check, state, node, this.point(), 'claim');
  }

  /** A mutation that is atomic on its own (append, pop, del d[k]): racy only after a check. */
  private act(state: SharedState, node: SyntaxNode, removal = false): void {
    const check = this.matchCheck(state, true, removal);
    if (check) this.report(check, state, node, this.point(), 'check');
  }

  /** A live check of `state`. `removal`: the act raises when the race is lost, so an except for it handles the race (EAFP). */
  private matchCheck(state: SharedState, container = false, removal = false): Access | undefined {
    if (removal && this.handlesLookupError()) return undefined;
    for (let i = this.checks.length - 1; i >= 0; i--) {
      const hit = this.checks[i].find(r => sameState(r.state, state, true) && !(r.identity && (container || state.key !== undefined)));
      if (hit) return hit;
    }
    return undefined;
  }

  /** The act sits in a `try` whose handler catches the lookup failure a lost race causes (EAFP): handled. */
  private handlesLookupError(): boolean {
    for (let p: SyntaxNode | null = this.stmt; p && p.id !== this.fn.node.id; p = p.parent) {
      if (p.type !== 'block' || p.parent?.type !== 'try_statement' || p.parent.childForFieldName('body')?.id !== p.id) continue;
      for (const c of p.parent.namedChildren) {
        if (c?.type !== 'except_clause') continue;
        const caught = c.namedChildren.find(x => x && x.type !== 'block')?.text ?? '';
        if (!caught || /\b(KeyError|IndexError|LookupError|ValueError|Exception|BaseException|StopIteration)\b/.test(caught)) return true;
      }
    }
    return false;
  }

  private report(read: Access, state: SharedState, node: SyntaxNode, at: Point, pattern: 'rmw' | 'check' | 'wait' | 'claim'): void {
    if (this.reported.has(node.id)) return;
    const rel: LockRelation = lockRelation(read.at, at);
    if (rel === 'protected') return;
    if (this.async && at.awaits === read.at.awaits) return;
    // Coroutines of one object: a container entry checked and filled across an await races; a flag
    // or handle reset after an await (state machines, asyncio's own locks) is by design.
    if (this.async && state.root.startsWith('self.') && state.key === undefined) return;
    if (state.kind === 'redis' && this.usesWatch) return;
    this.reported.add(node.id);
    const rule: RuleId = state.kind === 'redis' ? 'WL104' : state.kind === 'djcache' ? 'WL107' : state.kind === 'file' ? 'WL106' : state.proxy ? 'WL109'
      : rel === 'split' ? 'WL103' : pattern === 'check' || pattern === 'claim' ? 'WL102' : 'WL101';
    const f: RawFinding = {
      rule, pattern: rel === 'split' ? 'split' : pattern,
      state: { display: state.display, what: state.what, root: state.root, ...(state.globalName ? { globalName: state.globalName } : {}) },
      write: rangeOf(node), read: rangeOf(read.node),
      callsBetween: at.calls > read.at.calls, inAsync: this.async,
      ...(state.proxy ? { proxy: true } : {}),
    };
    if (pattern === 'wait') f.wait = this.waitAt[read.at.waits] ?? { call: 'a blocking call', line: read.node.startPosition.row };
    if (this.async) f.awaitLine = this.awaitLines[read.at.awaits];
    if (rel === 'split') f.lock = [...read.at.held.keys()].find(k => at.held.has(k));
    if (rule === 'WL101' || rule === 'WL102' || rule === 'WL109') {
      const wrap = this.wrapSpan(read.stmt, this.stmt.type === 'expression_statement' || node.type.endsWith('statement') ? (node.parent?.type === 'expression_statement' ? node.parent : this.stmt) : this.stmt);
      if (wrap) f.wrap = wrap;
    }
    if (rule === 'WL104') { const rw = redisRewrite(node, read, this.taints); if (rw) f.rewrite = rw; }
    if (rule === 'WL102' && pattern === 'check') { const rw = setdefaultRewrite(node, read, state); if (rw) f.rewrite = rw; }
    if (rule === 'WL107') { const rw = djangoCacheRewrite(node, read, pattern, this.taints, this.lines); if (rw) f.rewrite = rw; }
    this.findings.push(f);
  }

  /** The run of sibling statements (in their lowest common block) that holds both the read and the write. */
  private wrapSpan(readStmt: SyntaxNode, writeStmt: SyntaxNode): { start: number; end: number } | undefined {
    const chain = (n: SyntaxNode) => { const out: SyntaxNode[] = []; for (let p: SyntaxNode | null = n; p && p.id !== this.fn.node.id; p = p.parent) out.push(p); return out; };
    const a = chain(readStmt), b = chain(writeStmt);
    const bIds = new Map(b.map((n, i) => [n.id, i]));
    for (let i = 0; i < a.length; i++) {
      const j = bIds.get(a[i].id);
      if (j === undefined) continue;
      // a[i] is the lowest common ancestor; it must be a block whose children hold both.
      const common = a[i];
      let first: SyntaxNode, last: SyntaxNode;
      if (common.type === 'block') { first = a[i - 1] ?? common; last = b[j - 1] ?? common; }
      else if (i === 0 || j === 0) { first = common; last = common; }   // one statement holds both (x += 1, or the if)
      else return undefined;
      if (first.startIndex > last.startIndex) [first, last] = [last, first];
      return this.cleanLines(first, last);
    }
    return undefined;
  }

  private cleanLines(first: SyntaxNode, last: SyntaxNode): { start: number; end: number } | undefined {
    // Only whole lines: nothing before the first statement, nothing but a comment after the last.
    const start = first.startPosition.row, end = last.endPosition.row;
    if (this.lines[start]?.slice(0, first.startPosition.column).trim() !== '') return undefined;
    const rest = this.lines[end]?.slice(last.endPosition.column).trim() ?? '';
    if (rest && !rest.startsWith('#')) return undefined;
    // A statement of a one-line block (`if x: y += 1`) cannot be wrapped in place.
    if (first.parent?.type === 'block' && first.parent.parent && first.parent.parent.startPosition.row === start && first.parent.parent.type !== 'module') return undefined;
    return { start, end };
  }

  // ---- expressions ----------------------------------------------------------------------------

  /** Evaluates an expression in order; returns the shared reads it makes (directly or via tainted locals). */
  private expr(n: SyntaxNode): Access[] {
    const out: Access[] = [];
    this.visit(n, out);
    return out;
  }

  private visit(n: SyntaxNode, out: Access[]): void {
    switch (n.type) {
      case 'identifier': {
        const t = this.taints.get(n.text);
        if (t && this.isLocal(n.text)) { out.push(...t); return; }
        const s = this.resolve(n);
        if (s) out.push(this.access(s, n));
        return;
      }
      case 'attribute': case 'subscript': {
        if (n.type === 'attribute' && this.inlineProperty(n, out)) return;
        const s = this.resolve(n);
        if (s) { out.push(this.access(s, n)); if (n.type === 'subscript') this.visit(n.childForFieldName('subscript')!, out); return; }
        for (const c of n.namedChildren) if (c && !(n.type === 'attribute' && c === n.childForFieldName('attribute'))) this.visit(c, out);
        return;
      }
      case 'call': this.call(n, out); return;
      case 'await': {
        for (const c of n.namedChildren) if (c) this.visit(c, out);
        this.awaitAt(n);
        return;
      }
      case 'comparison_operator': {
        const parts = n.namedChildren.filter((c): c is SyntaxNode => !!c);
        const ops = n.children.filter(c => c && !c.isNamed).map(c => c!.text);
        // `k in d` / `k not in d`: a read of d[k]
        if (parts.length === 2 && (ops.includes('in') || ops.join(' ').includes('not in'))) {
          this.visit(parts[0], out);
          if (this.storeOf(parts[1]) === 'djcache') { out.push(this.access(this.djState(parts[1], parts[0]), n)); return; }
          const s = this.resolve(parts[1]);
          if (s) { out.push(this.access({ ...s, key: s.key ?? norm(parts[0]), display: `${s.display}[${parts[0].text}]` }, parts[1])); return; }
          this.visit(parts[1], out);
          return;
        }
        const from = out.length;
        for (const p of parts) this.visit(p, out);
        if (ops.includes('is') || ops.includes('is not')) for (let i = from; i < out.length; i++) if (out[i].state.key === undefined) out[i] = { ...out[i], identity: true };
        return;
      }
      case 'lambda': case 'function_definition': case 'class_definition': case 'ERROR': return;
      case 'string': case 'integer': case 'float': case 'true': case 'false': case 'none': case 'comment': return;
      case 'named_expression': {
        const reads = this.expr(n.childForFieldName('value')!);
        this.bindLocal(n.childForFieldName('name'), reads);
        out.push(...reads);
        return;
      }
      default:
        for (const c of n.namedChildren) if (c) this.visit(c, out);
    }
  }

  private call(n: SyntaxNode, out: Access[]): void {
    const fnNode = n.childForFieldName('function')!;
    const { positional, keywords } = callArgs(n);
    const callee = dottedName(fnNode);
    const last = fnNode.type === 'attribute' ? fnNode.childForFieldName('attribute')?.text ?? '' : callee;
    const recvNode = fnNode.type === 'attribute' ? unparen(fnNode.childForFieldName('object')!) : null;

    // Locks
    if (recvNode && (last === 'acquire' || last === 'release' || last === '__enter__' || last === '__exit__')) {
      const key = this.lockKey(recvNode);
      if (key) {
        for (const a of positional) this.visit(a, out);
        if (last === 'acquire' || last === '__enter__') this.acquire(key); else this.release(key);
        return;
      }
    }
    // Files: open(P) reads unless the mode writes; Path.read_text / write_text
    if (callee === 'open' || callee === 'io.open' || callee === 'codecs.open') {
      for (const a of n.childForFieldName('arguments')?.namedChildren ?? []) if (a) this.visit(a, out);
      const path = positional[0];
      const modeNode = positional[1] ?? keywords.get('mode');
      const mode = modeNode?.type === 'string' ? modeNode.text.replace(/^[a-zA-Z]*["']+|["']+$/g, '') : modeNode ? '?' : 'r';
      if (!path || mode === '?') return;
      const st = fileState(path);
      if (/[wx]/.test(mode) && !/\+/.test(mode)) { this.write(st, n, [], null); this.calls++; return; }
      if (!/[wax+]/.test(mode)) { const a = this.access(st, n); this.fileReads.push(a); out.push(a); }
      this.calls++;
      return;
    }
    if (recvNode && (last === 'read_text' || last === 'read_bytes' || last === 'write_text' || last === 'write_bytes')) {
      for (const a of positional) this.visit(a, out);
      const st = fileState(pathOfReceiver(recvNode));
      if (last.startsWith('read')) { const a = this.access(st, n); this.fileReads.push(a); out.push(a); }
      else this.write(st, n, [], null);
      this.calls++;
      return;
    }
    if ((callee === 'os.path.exists' || callee === 'os.path.isfile' || callee === 'path.exists') && positional[0]) {
      out.push(this.access(fileState(positional[0]), n));
      return;
    }
    if (fnNode.type === 'attribute' && this.createCall(n, callee)) {
      for (const a of n.childForFieldName('arguments')?.namedChildren ?? []) if (a) this.visit(a, out);
      this.calls++;
      return;
    }
    // Django cache (`cache`, `caches[...]`, `self.cache`): shared by every process
    if (recvNode && this.storeOf(recvNode) === 'djcache' && this.djangoCache(n, recvNode, last, positional, keywords, out)) return;
    // Redis
    if (recvNode && (REDIS_READ.has(last) || REDIS_WRITE.has(last)) && this.isRedis(recvNode) && positional[0]) {
      for (const a of n.childForFieldName('arguments')?.namedChildren ?? []) if (a) this.visit(a, out);
      this.calls++;
      const hash = last.startsWith('h') && last !== 'hgetall' && last !== 'hmset' && last !== 'hlen';
      const st: SharedState = {
        kind: 'redis', root: `redis:${norm(recvNode)}:${norm(positional[0])}`,
        ...(hash && positional[1] ? { key: norm(positional[1]) } : {}),
        display: hash && positional[1] ? `${positional[0].text} ${positional[1].text}` : positional[0].text,
        what: `Redis key \`${positional[0].text}\``,
      };
      if (REDIS_READ.has(last)) { out.push(this.access(st, n)); return; }
      if (keywords.get('nx')?.type === 'true' || keywords.get('xx')?.type === 'true') return;
      const valueArg = last === 'hset' ? positional[2] ?? keywords.get('value') : last === 'setex' || last === 'psetex' ? positional[2] : positional[1] ?? keywords.get('value');
      const valueReads = valueArg ? this.expr(valueArg) : [];
      this.write(st, n, [...valueReads, ...out.filter(r => r.state.kind === 'redis')], null);
      return;
    }
    // Django: obj.save() after a field was changed in Python
    if (recvNode?.type === 'identifier' && last === 'save' && this.orm.has(recvNode.text)) {
      const o = this.orm.get(recvNode.text)!;
      for (const m of o.mods) if (!o.safe) this.ormFinding(m, o.fetch, recvNode.text);
      o.mods = [];
      for (const a of n.childForFieldName('arguments')?.namedChildren ?? []) if (a) this.visit(a, out);
      this.calls++;
      return;
    }

    // Methods on shared containers
    const recvState = recvNode ? this.resolve(recvNode) : null;
    if (recvNode && !recvState) this.visit(recvNode, out);
    else if (!recvNode && fnNode.type !== 'identifier') this.visit(fnNode, out);
    const argReads: Access[] = [];
    for (const a of n.childForFieldName('arguments')?.namedChildren ?? []) if (a) this.visit(a, argReads);
    out.push(...argReads);
    if (recvState) {
      if (READ_METHODS.has(last)) {
        const key = last === 'get' && positional[0] ? norm(positional[0]) : undefined;
        out.push(this.access(key !== undefined ? { ...recvState, key, display: `${recvState.display}[${positional[0].text}]` } : recvState, n));
      } else if (ACT_METHODS.has(last) && !(last === 'pop' && positional.length >= 2)) {
        const key = (last === 'pop' || last === 'remove') && positional[0] ? norm(positional[0]) : undefined;
        this.act(key !== undefined ? { ...recvState, key } : recvState, n, REMOVALS.has(last));
      } else if (last === 'add' && positional[0]) {
        this.claim({ ...recvState, key: norm(positional[0]) }, n);
      } else if (last === 'setdefault') {
        out.push(this.access(positional[0] ? { ...recvState, key: norm(positional[0]) } : recvState, n));
      }
    } else if (callee === 'len' && positional[0]) {
      // len(shared) is a read of the container: already collected through the argument
    }
    if (!PURE_CALLS.has(callee) && !(recvState && (READ_METHODS.has(last) || ACT_METHODS.has(last)))) this.calls++;
    if (!recvState && BLOCKING.test(callee || last)) { this.waits++; this.waitAt.push({ call: callee || last, line: n.startPosition.row }); }
    if (fnNode.type === 'identifier' && !recvNode) this.helperCall(n, callee, positional);
    if (this.cacheMethods.size) this.cacheMethodCall(n, fnNode, recvNode, last, positional, out);
  }

  /** A call of a function/method whose summary reads a Django cache key or sets it to a marker. */
  private cacheMethodCall(n: SyntaxNode, fnNode: SyntaxNode, recvNode: SyntaxNode | null, last: string, positional: SyntaxNode[], out: Access[]): void {
    let name: string | undefined;
    if (!recvNode && fnNode.type === 'identifier') name = fnNode.text;
    else if (recvNode?.type === 'identifier' && this.localCtors.has(recvNode.text)) name = `${this.localCtors.get(recvNode.text)}.${last}`;
    else if (recvNode?.type === 'call') name = `${lastName(dottedName(recvNode.childForFieldName('function')))}.${last}`;
    else if (recvNode?.text === this.selfName && this.fn.className) name = `${this.fn.className}.${last}`;
    const summary = name ? this.cacheMethods.get(name) : undefined;
    if (!summary) return;
    const state = (t: string): SharedState | undefined => {
      const key = instantiate(t, positional);
      return key ? { kind: 'djcache', root: `djcache:${name!.split('.')[0]}:${key}`, display: key, what: `Django cache key \`${key}\` (through \`${name}\`)` } : undefined;
    };
    for (const t of summary.reads) { const st = state(t); if (st) out.push(this.access(st, n)); }
    for (const t of summary.claims) {
      const st = state(t);
      const check = st ? this.matchCheck(st) : undefined;
      if (st && check) this.report(check, st, n, this.point(), 'check');
    }
  }

  /** `helper(obj)` with obj fetched from the database: the helper changes a field from its old value and saves. */
  private helperCall(n: SyntaxNode, callee: string, positional: SyntaxNode[]): void {
    if (!this.orm.size || this.isLocal(callee)) return;
    const helper = this.facts.functions.find(f => f.qualName === callee);
    if (!helper) return;
    const params = (helper.node.childForFieldName('parameters')?.namedChildren ?? []).filter((p): p is SyntaxNode => !!p)
      .map(p => (p.type === 'identifier' ? p.text : p.childForFieldName('name')?.text ?? p.namedChild(0)?.text ?? ''));
    positional.forEach((arg, i) => {
      const o = arg.type === 'identifier' ? this.orm.get(arg.text) : undefined;
      const param = params[i];
      if (!o || o.safe || !param) return;
      const field = helperModifiesAndSaves(helper.node, param);
      if (!field || this.reported.has(n.id)) return;
      this.deps.push({ name: helper.qualName, text: helper.node.text });
      this.reported.add(n.id);
      this.findings.push({
        rule: 'WL105', pattern: 'orm', helper: helper.qualName,
        state: { display: `${arg.text}.${field}`, what: `the database row behind \`${arg.text}\``, root: `orm:${arg.text}` },
        write: rangeOf(n), read: rangeOf(o.fetch), callsBetween: true, inAsync: this.async,
      });
    });
  }

  /** `Model.objects.create(...)` under a live `not Model.objects.filter(...).exists()` check. */
  private createCall(n: SyntaxNode, callee: string): boolean {
    const m = /^(.+)\.objects\.(create|acreate)$/.exec(callee);
    if (!m) return false;
    const check = [...this.existsChecks].reverse().find(c => c.model === m[1]);
    if (!check || this.reported.has(n.id)) return false;
    this.reported.add(n.id);
    const f: RawFinding = {
      rule: 'WL108', pattern: 'exists', state: { display: m[1], what: `a \`${m[1]}\` row`, root: `orm:${m[1]}` },
      write: rangeOf(n), read: rangeOf(check.cond), callsBetween: true, inAsync: this.async,
    };
    const rw = getOrCreateRewrite(check, n, m[1], this.stmt);
    if (rw) f.rewrite = rw;
    this.findings.push(f);
    return true;
  }

  /** Django cache operations: get/has_key/`in` read, set writes; add/incr/decr/get_or_set are atomic. */
  private djangoCache(n: SyntaxNode, recvNode: SyntaxNode, last: string, positional: SyntaxNode[], keywords: Map<string, SyntaxNode>, out: Access[]): boolean {
    if (!DJCACHE_READ.has(last) && !DJCACHE_WRITE.has(last) && !['add', 'incr', 'decr', 'get_or_set', 'delete', 'touch'].includes(last)) return false;
    const keyNode = positional[0] ?? keywords.get('key');
    for (const a of n.childForFieldName('arguments')?.namedChildren ?? []) if (a && !(DJCACHE_WRITE.has(last) && a === (positional[1] ?? keywords.get('value')))) this.visit(a, out);
    this.calls++;
    if (!keyNode || last === 'get_many' || last === 'set_many') return true;
    const st = this.djState(recvNode, keyNode);
    if (DJCACHE_READ.has(last)) { out.push(this.access(st, n)); return true; }
    if (!DJCACHE_WRITE.has(last)) return true;
    const valueArg = positional[1] ?? keywords.get('value');
    const valueReads = valueArg ? this.expr(valueArg) : [];
    const at = this.point();
    // The value comes from the read (a cached set or counter changed and stored back): lost update.
    const read = [...valueReads, ...out].find(r => sameState(r.state, st, false));
    if (read) { this.report(read, st, n, at, 'rmw'); return true; }
    // get → check → set: a lock only when the value is a marker (flag, timestamp, owner); storing
    // data computed after a miss is a cache fill — concurrent misses compute twice, nothing is lost.
    const check = this.matchCheck(st);
    if (check && valueArg && !this.computedAfter(valueArg, check.node.startIndex)) this.report(check, st, n, at, 'check');
    return true;
  }

  /** `value` holds data computed after `index` (a call, or a local assigned there), not a marker. */
  private computedAfter(value: SyntaxNode, index: number): boolean {
    const v = unparen(value);
    const calls = v.type === 'call' ? [v, ...v.descendantsOfType('call')] : v.descendantsOfType('call');
    if (calls.some(c => !!c && !TIMEISH.test(dottedName(c.childForFieldName('function'))))) return true;
    const ids = v.type === 'identifier' ? [v] : v.descendantsOfType('identifier');
    return ids.some(id => !!id && this.isLocal(id.text) && (this.assignedAt.get(id.text) ?? -1) > index);
  }

  private djState(recvNode: SyntaxNode, keyNode: SyntaxNode): SharedState {
    return { kind: 'djcache', root: `djcache:${norm(recvNode)}:${norm(keyNode)}`, display: keyNode.text, what: `Django cache key \`${keyNode.text}\`` };
  }

  /**
   * `self.prop` where `prop` is a one-line `@property` of this class: its expression is what runs
   * (a `return self.cache.get(K)` property is a cache read). Reads are placed at the use.
   */
  private inlineProperty(n: SyntaxNode, out: Access[]): boolean {
    const obj = n.childForFieldName('object');
    if (!obj || obj.text !== this.selfName || !this.fn.className || this.propertyDepth > 2) return false;
    const prop = this.facts.classes.get(this.fn.className)?.properties.get(n.childForFieldName('attribute')?.text ?? '');
    if (!prop) return false;
    this.propertyDepth++;
    const inner: Access[] = [];
    try { this.visit(prop, inner); } finally { this.propertyDepth--; }
    for (const a of inner) { a.node = n; a.stmt = this.stmt; out.push(a); }
    return true;
  }

  private isRedis(recv: SyntaxNode): boolean {
    const text = recv.text;
    if (/redis/i.test(text)) return true;
    if (this.storeOf(recv) === 'redis') return true;
    if (recv.type === 'identifier') {
      if (this.redisLocals.has(text)) return true;
      return this.facts.symbols.get(text)?.ref === 'redis';
    }
    return false;
  }

  // ---- Django ORM -----------------------------------------------------------------------------

  private ormModification(t: SyntaxNode, value: SyntaxNode | null, reads: Access[], augmented: boolean, stmtNode?: SyntaxNode): void {
    const obj = unparen(t.childForFieldName('object')!);
    if (obj.type !== 'identifier') return;
    const o = this.orm.get(obj.text);
    if (!o) return;
    const field = t.childForFieldName('attribute')?.text ?? '';
    const readsField = augmented || (value ? value.descendantsOfType('attribute').some(a => a && norm(a) === `${obj.text}.${field}`) : false);
    void reads;
    if (!readsField || !value || /\bF\(/.test(value.text)) return;
    const node = stmtNode ?? t.parent ?? t;
    let rewrite: RawFinding['rewrite'];
    if (augmented && stmtNode) {
      const op = stmtNode.children.find(c => c && !c.isNamed && /=$/.test(c.text))?.text.slice(0, -1) ?? '+';
      rewrite = { title: `Use F("${field}") (database-side update)`, importF: true,
        edits: [{ range: rangeOf(stmtNode), newText: `${t.text} = F("${field}") ${op} ${value.text.includes(' ') ? `(${value.text})` : value.text}` }] };
    } else if (!augmented) {
      const re = new RegExp(`\\b${obj.text}\\s*\\.\\s*${field}\\b`, 'g');
      rewrite = { title: `Use F("${field}") (database-side update)`, importF: true, edits: [{ range: rangeOf(value), newText: value.text.replace(re, `F("${field}")`) }] };
    }
    o.mods.push({ node, read: o.fetch, callsBetween: false, ...(rewrite ? { rewrite } : {}) });
  }

  private ormFinding(m: { node: SyntaxNode; read: SyntaxNode; rewrite?: RawFinding['rewrite'] }, fetch: SyntaxNode, obj: string): void {
    if (this.reported.has(m.node.id)) return;
    this.reported.add(m.node.id);
    this.findings.push({
      rule: 'WL105', pattern: 'orm', state: { display: m.node.type === 'augmented_assignment' || m.node.type === 'assignment' ? m.node.childForFieldName('left')!.text : obj, what: `the database row behind \`${obj}\``, root: `orm:${obj}` },
      write: rangeOf(m.node), read: rangeOf(fetch), callsBetween: true, inAsync: this.async, ...(m.rewrite ? { rewrite: m.rewrite } : {}),
    });
  }
}

export function scopeNames(fnNode: SyntaxNode): { locals: Set<string>; globals: Set<string>; nonlocals: Set<string> } {
  const locals = new Set<string>(), globals = new Set<string>(), nonlocals = new Set<string>();
  const params = fnNode.childForFieldName('parameters');
  const ownScope = (n: SyntaxNode) => {
    for (let p = n.parent; p; p = p.parent) {
      if (p.id === fnNode.id) return true;
      if (p.type === 'function_definition' || p.type === 'class_definition' || p.type === 'lambda') return false;
    }
    return false;
  };
  const bindTargets = (t: SyntaxNode | null): void => {
    if (!t) return;
    if (t.type === 'identifier') { locals.add(t.text); return; }
    if (['pattern_list', 'tuple_pattern', 'list_pattern', 'tuple', 'list', 'parenthesized_expression', 'list_splat_pattern', 'expression_list'].includes(t.type)) {
      for (const c of t.namedChildren) bindTargets(c);
    }
  };
  for (const p of params?.namedChildren ?? []) {
    if (!p) continue;
    const id = p.type === 'identifier' ? p : p.childForFieldName('name') ?? p.namedChild(0);
    if (id?.type === 'identifier') locals.add(id.text);
  }
  const body = fnNode.childForFieldName('body');
  if (!body) return { locals, globals, nonlocals };
  const types = ['global_statement', 'nonlocal_statement', 'assignment', 'augmented_assignment', 'for_statement', 'for_in_clause',
    'as_pattern_target', 'named_expression', 'import_statement', 'import_from_statement', 'function_definition', 'class_definition', 'except_clause'];
  for (const n of body.descendantsOfType(types)) {
    if (!n || !ownScope(n)) continue;
    switch (n.type) {
      case 'global_statement': for (const c of n.namedChildren) if (c) globals.add(c.text); break;
      case 'nonlocal_statement': for (const c of n.namedChildren) if (c) nonlocals.add(c.text); break;
      case 'assignment': case 'augmented_assignment': case 'for_statement': case 'for_in_clause':
        bindTargets(n.childForFieldName('left')); break;
      case 'named_expression': bindTargets(n.childForFieldName('name')); break;
      case 'as_pattern_target': bindTargets(n.namedChild(0)); break;
      case 'function_definition': case 'class_definition': bindTargets(n.childForFieldName('name')); break;
      case 'except_clause': for (const c of n.namedChildren) if (c?.type === 'as_pattern') bindTargets(c.childForFieldName('alias')?.namedChild(0) ?? null); break;
      case 'import_statement': case 'import_from_statement':
        for (const c of n.namedChildren) {
          if (!c || c === n.childForFieldName('module_name')) continue;
          const alias = c.type === 'aliased_import' ? c.childForFieldName('alias') : c;
          if (alias) locals.add(alias.text.split('.')[0]);
        }
        break;
    }
  }
  for (const g of globals) locals.delete(g);
  for (const g of nonlocals) locals.delete(g);
  return { locals, globals, nonlocals };
}

function exits(block: SyntaxNode | null): boolean {
  const last = statements(block).pop();
  return !!last && ['return_statement', 'raise_statement', 'continue_statement', 'break_statement'].includes(last.type);
}

function fileState(path: SyntaxNode): SharedState {
  return { kind: 'file', root: `file:${norm(path)}`, display: path.text, what: `file \`${path.text}\`` };
}

/** `Path(p).read_text()` and `p.read_text()` name the same file. */
function pathOfReceiver(recv: SyntaxNode): SyntaxNode {
  if (recv.type === 'call' && /(^|\.)Path$/.test(dottedName(recv.childForFieldName('function')))) return callArgs(recv).positional[0] ?? recv;
  return recv;
}

function ormFetch(value: SyntaxNode): { safe: boolean; node: SyntaxNode } | undefined {
  let v = unparen(value);
  if (v.type === 'await') v = v.namedChild(0) ?? v;
  if (v.type !== 'call') return undefined;
  const fnText = v.childForFieldName('function')?.text ?? '';
  if (!ORM_FETCH.test(fnText)) return undefined;
  return { safe: /select_for_update\s*\(/.test(v.text), node: v };
}

/** `r.set(k, int(r.get(k) or 0) + n)` → `r.incrby(k, n)`; `r.hset(k, f, v + n)` → `r.hincrby(k, f, n)`. */
function redisRewrite(write: SyntaxNode, read: Access, taints: Map<string, Access[]>): RawFinding['rewrite'] | undefined {
  if (write.type !== 'call') return undefined;
  const fnNode = write.childForFieldName('function');
  const method = fnNode?.childForFieldName('attribute')?.text;
  const recv = fnNode?.childForFieldName('object')?.text;
  if (!recv || (method !== 'set' && method !== 'hset')) return undefined;
  const { positional } = callArgs(write);
  const value = positional[method === 'hset' ? 2 : 1];
  if (!value || positional.length !== (method === 'hset' ? 3 : 2)) return undefined;
  const v = unparen(value);
  if (v.type !== 'binary_operator') return undefined;
  const op = v.children.find(c => c && !c.isNamed)?.text;
  if (op !== '+' && op !== '-') return undefined;
  const left = v.childForFieldName('left')!, right = v.childForFieldName('right')!;
  const fromRead = (x: SyntaxNode) => x.startIndex <= read.node.startIndex && read.node.endIndex <= x.endIndex
    || x.descendantsOfType('identifier').some(id => !!id && (taints.get(id.text) ?? []).some(t => t.node.id === read.node.id))
    || (x.type === 'identifier' && (taints.get(x.text) ?? []).some(t => t.node.id === read.node.id));
  let amount: SyntaxNode | undefined;
  if (fromRead(left) && !fromRead(right)) amount = right;
  else if (op === '+' && fromRead(right) && !fromRead(left)) amount = left;
  if (!amount) return undefined;
  const float = amount.type === 'float';
  const key = positional[0].text;
  let call: string;
  if (method === 'hset') call = `${recv}.${float ? 'hincrbyfloat' : 'hincrby'}(${key}, ${positional[1].text}, ${op === '-' ? '-' : ''}${amount.text})`;
  else if (float) call = `${recv}.incrbyfloat(${key}, ${op === '-' ? '-' : ''}${amount.text})`;
  else if (amount.text === '1') call = `${recv}.${op === '+' ? 'incr' : 'decr'}(${key})`;
  else call = `${recv}.${op === '+' ? 'incrby' : 'decrby'}(${key}, ${amount.text})`;
  return { title: `Use atomic \`${call.slice(recv.length + 1, call.indexOf('('))}\``, edits: [{ range: rangeOf(write), newText: call }] };
}

/** `if not M.objects.filter(...).exists():` (negated) or `if M.objects.filter(...).exists():` (a guard when its body exits). */
function existsCheck(cond: SyntaxNode | null, ifStmt: SyntaxNode): { model: string; cond: SyntaxNode; ifStmt: SyntaxNode; negated: boolean } | undefined {
  if (!cond || !/\.exists\(\s*\)/.test(cond.text)) return undefined;
  let c = unparen(cond), negated = false;
  if (c.type === 'not_operator') { negated = true; c = unparen(c.childForFieldName('argument')!); }
  if (c.type === 'await') c = c.namedChild(0) ?? c;
  const m = /^([\w.]+)\.objects\b[\s\S]*\.(exists|aexists)\(\s*\)$/.exec(c.text);
  return m ? { model: m[1], cond, ifStmt, negated } : undefined;
}

/**
 * `if not M.objects.filter(a=x).exists(): M.objects.create(a=x, b=y)` → one
 * `M.objects.get_or_create(a=x, defaults={"b": y})`, when the `if` holds only that statement.
 */
function getOrCreateRewrite(check: { cond: SyntaxNode; ifStmt: SyntaxNode; negated: boolean }, create: SyntaxNode, model: string, stmt: SyntaxNode): RawFinding['rewrite'] | undefined {
  if (!check.negated) return undefined;
  const body = statements(check.ifStmt.childForFieldName('consequence'));
  if (body.length !== 1 || body[0].id !== stmt.id || check.ifStmt.childrenForFieldName('alternative').some(Boolean)) return undefined;
  let filter: SyntaxNode | null = unparen(check.cond);
  if (filter.type === 'not_operator') filter = unparen(filter.childForFieldName('argument')!);
  // M.objects.filter(...).exists(): the filter call is the receiver of .exists
  filter = filter.childForFieldName('function')?.childForFieldName('object') ?? null;
  if (!filter || filter.type !== 'call' || !/\.filter$/.test(dottedName(filter.childForFieldName('function')))) return undefined;
  const f = callArgs(filter), c = callArgs(create);
  if (f.positional.length || c.positional.length || !f.keywords.size) return undefined;
  const lookups = [...f.keywords].map(([k, v]) => `${k}=${v.text}`);
  const defaults = [...c.keywords].filter(([k]) => !f.keywords.has(k)).map(([k, v]) => `"${k}": ${v.text}`);
  const call = `${model}.objects.get_or_create(${[...lookups, ...(defaults.length ? [`defaults={${defaults.join(', ')}}`] : [])].join(', ')})`;
  const inner = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  let text: string;
  if (inner?.type === 'call') text = call;
  else if (inner?.type === 'assignment' && inner.childForFieldName('right')?.id === create.id) text = `${inner.childForFieldName('left')!.text}, _created = ${call}`;
  else return undefined;
  return { title: `Use \`${model}.objects.get_or_create(...)\` (atomic with a unique constraint on the lookup)`, edits: [{ range: rangeOf(check.ifStmt), newText: text }] };
}

/** The field `param.f` a helper changes from its old value (not with F()) before `param.save()`, or ''. */
function helperModifiesAndSaves(fnNode: SyntaxNode, param: string): string {
  const body = fnNode.childForFieldName('body');
  if (!body || !new RegExp(`\\b${param}\\s*\\.\\s*save\\s*\\(`).test(body.text)) return '';
  for (const a of body.descendantsOfType(['augmented_assignment', 'assignment'])) {
    const left = a?.childForFieldName('left');
    if (!a || left?.type !== 'attribute' || left.childForFieldName('object')?.text !== param) continue;
    const field = left.childForFieldName('attribute')?.text ?? '';
    const right = a.childForFieldName('right');
    if (!right || /\bF\(/.test(right.text)) continue;
    if (a.type === 'augmented_assignment' || right.descendantsOfType('attribute').some(x => x && norm(x) === `${param}.${field}`)) return field;
  }
  return '';
}

/**
 * Django cache: `cache.set(k, v + n)` after `v = cache.get(k)` → `cache.add(k, 0)` + `cache.incr(k, n)`
 * (add creates the key only if missing, incr is atomic); `if not cache.get(k): cache.set(k, v, t)` used
 * as a lock → `if cache.add(k, v, t):` (one atomic claim).
 */
function djangoCacheRewrite(write: SyntaxNode, read: Access, pattern: string, taints: Map<string, Access[]>, lines: string[]): RawFinding['rewrite'] | undefined {
  if (write.type !== 'call') return undefined;
  const fnNode = write.childForFieldName('function');
  const recv = fnNode?.childForFieldName('object')?.text;
  if (!recv || fnNode?.childForFieldName('attribute')?.text !== 'set') return undefined;
  const { positional, keywords } = callArgs(write);
  const key = positional[0], value = positional[1] ?? keywords.get('value');
  if (!key || !value) return undefined;
  const timeout = positional[2] ?? keywords.get('timeout');
  const stmt = write.parent?.type === 'expression_statement' ? write.parent : null;
  if (!stmt) return undefined;
  if (pattern === 'check') {
    // The check is an `if` whose condition reads the key and whose body starts with this set.
    const ifStmt = stmt.parent?.type === 'block' ? stmt.parent.parent : null;
    if (ifStmt?.type !== 'if_statement' || statements(stmt.parent)[0]?.id !== stmt.id || ifStmt.childrenForFieldName('alternative').some(Boolean)) return undefined;
    const cond = ifStmt.childForFieldName('condition');
    if (!cond || !(cond.startIndex <= read.node.startIndex && read.node.endIndex <= cond.endIndex)) return undefined;
    const c = unparen(cond);
    const negatedRead = c.type === 'not_operator' && unparen(c.childForFieldName('argument')!).id === read.node.id;
    const isNone = c.type === 'comparison_operator' && /\bis\s+None$/.test(c.text) && c.namedChild(0)?.id === read.node.id;
    if (!negatedRead && !isNone) return undefined;
    const add = `${recv}.add(${key.text}, ${value.text}${timeout ? `, ${timeout.text}` : ''})`;
    const startLine = stmt.startPosition.row, endLine = stmt.endPosition.row;
    const edits: TextEdit[] = [{ range: rangeOf(cond), newText: add }];
    // Remove the set's line(s); a body of only the set gets `pass`.
    const onlyStmt = statements(stmt.parent).length === 1;
    edits.push(onlyStmt
      ? { range: rangeOf(stmt), newText: 'pass' }
      : { range: { start: { line: startLine, character: 0 }, end: { line: endLine + 1, character: 0 } }, newText: '' });
    void lines;
    return { title: `Use atomic \`${recv}.add(...)\` as the claim (true only for the first caller)`, edits };
  }
  const v = unparen(value);
  if (v.type !== 'binary_operator') return undefined;
  const op = v.children.find(c => c && !c.isNamed)?.text;
  if (op !== '+' && op !== '-') return undefined;
  const left = v.childForFieldName('left')!, right = v.childForFieldName('right')!;
  const fromRead = (x: SyntaxNode) => (x.startIndex <= read.node.startIndex && read.node.endIndex <= x.endIndex)
    || x.descendantsOfType('identifier').concat(x.type === 'identifier' ? [x] : []).some(id => !!id && (taints.get(id.text) ?? []).some(t => t.node.id === read.node.id));
  let amount: SyntaxNode | undefined;
  if (fromRead(left) && !fromRead(right)) amount = right;
  else if (op === '+' && fromRead(right) && !fromRead(left)) amount = left;
  if (!amount) return undefined;
  const indent = /^\s*/.exec(lines[stmt.startPosition.row] ?? '')![0];
  const method = op === '+' ? 'incr' : 'decr';
  const text = `${recv}.add(${key.text}, 0${timeout ? `, ${timeout.text}` : ''})\n${indent}${recv}.${method}(${key.text}${amount.text === '1' ? '' : `, ${amount.text}`})`;
  return { title: `Use atomic \`${recv}.add\` + \`${recv}.${method}\``, edits: [{ range: rangeOf(write), newText: text }] };
}

/**
 * A cache fill `if k not in d: d[k] = compute(k)` → `d.setdefault(k, compute(k))`: the value is
 * computed outside any lock (misses do not queue behind one another) and the insert is one atomic
 * operation — the first writer wins, later ones keep its value (the re-check, done by the dict).
 */
function setdefaultRewrite(node: SyntaxNode, check: Access, state: SharedState): RawFinding['rewrite'] | undefined {
  if (node.type !== 'assignment' || state.kind !== 'mem' || state.proxy || state.key === undefined) return undefined;
  const left = node.childForFieldName('left'), right = node.childForFieldName('right');
  if (left?.type !== 'subscript' || !right || right.type === 'assignment') return undefined;
  // The check must be membership (`k not in d`) or a `.get(k)` miss, on the same key.
  const cmp = check.node.parent;
  const membership = cmp?.type === 'comparison_operator' && /\bnot\s+in\b/.test(cmp.text);
  const getMiss = check.node.type === 'call' && check.node.childForFieldName('function')?.childForFieldName('attribute')?.text === 'get';
  if (!membership && !getMiss) return undefined;
  const base = left.childForFieldName('value')!, key = left.childForFieldName('subscript')!;
  if (norm(key) !== state.key) return undefined;
  return {
    title: `Use \`${base.text}.setdefault(${key.text}, …)\` (compute outside any lock; the first writer wins)`,
    edits: [{ range: rangeOf(node), newText: `${base.text}.setdefault(${key.text}, ${right.text})` }],
  };
}
