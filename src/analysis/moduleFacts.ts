// What a module defines at top level: the names that are shared between concurrent runs
// (module globals, classes, module-level instances), locks, imports, and every function.
import type { SyntaxNode } from './python';
import { StoreTag, importTag, storeTagOfValue, symbolTag } from './stores';
import { callArgs, dottedName, isAsync, lastName, lockKindOfCall, statements, unparen } from './syntax';

export type SymbolKind =
  | 'var'        // plain module global
  | 'instance'   // module-level instance of a class defined in this module
  | 'function' | 'class'
  | 'module'     // `import x` / `import x.y as z`: attributes are other modules' globals
  | 'imported'   // `from m import x`
  | 'lock' | 'semaphore'
  | 'tlocal'     // threading.local(): per thread, not shared
  | 'threadsafe'; // queue.Queue, itertools.count(): operations are atomic

export interface ModuleSymbol {
  name: string;
  kind: SymbolKind;
  /** For 'instance': the class; for 'module'/'imported': the dotted module; for 'imported': the original name. */
  ref?: string;
  origName?: string;
  /** A shared store the name holds (Redis client, Django cache, multiprocessing Manager or proxy). */
  store?: StoreTag;
  /** For a name bound to `callee(...)`: the dotted callee (an imported class makes a singleton; `mgr.Lock` a manager lock). */
  ctor?: string;
  /** 0-based line after which a new definition can be inserted (end of the defining statement). */
  endLine: number;
}

export interface FunctionInfo {
  node: SyntaxNode;          // function_definition
  name: string;
  qualName: string;
  className?: string;        // set for methods (direct children of a class body)
  parent?: FunctionInfo;     // enclosing function for nested defs
  isAsync: boolean;
  decorators: SyntaxNode[];  // decorator expressions
  nested: Map<string, FunctionInfo>;
  /** The statement that holds it (decorated_definition or the def). */
  stmt: SyntaxNode;
}

export interface ClassInfo {
  name: string;
  bases: string[];
  attrs: Set<string>;
  methods: Map<string, FunctionInfo>;
  /** Stores held by class attributes or `self.x = …` assignments. */
  attrTags: Map<string, StoreTag>;
  /** `self.x = Callee(...)`: attribute → dotted callee (to follow `self.x.m()`). */
  attrCtors: Map<string, string>;
  /** `@property` methods whose body is one `return <expr>`: name → the expression. */
  properties: Map<string, SyntaxNode>;
}

export interface ModuleFacts {
  symbols: Map<string, ModuleSymbol>;
  classes: Map<string, ClassInfo>;
  functions: FunctionInfo[];
  /** Last line of the last top-level import (-1: none). */
  lastImportLine: number;
  /** Last line of the last top-level plain `import x` (-1: none): `import threading` goes after it, with its peers. */
  lastPlainImportLine: number;
  /** First line where code may be inserted (after docstring and `from __future__`). */
  firstCodeLine: number;
  /** `threading` / `asyncio` bound to the module itself. */
  imports: Set<string>;
}

const THREADSAFE = /(^|\.)(Queue|SimpleQueue|LifoQueue|PriorityQueue|JoinableQueue|count|Event)$/;
const TLOCAL = /(^|\.)local$/;

function classifyValue(value: SyntaxNode | null, classes: Set<string>): { kind: SymbolKind; ref?: string } {
  if (!value || value.type !== 'call') return { kind: 'var' };
  const lk = lockKindOfCall(value);
  if (lk) return { kind: lk };
  const callee = dottedName(value.childForFieldName('function'));
  if (TLOCAL.test(callee) && (callee === 'local' || callee.startsWith('threading.') || callee.startsWith('_threading_local'))) return { kind: 'tlocal' };
  if (THREADSAFE.test(callee) && !/defaultdict|Counter/.test(callee)) return { kind: 'threadsafe' };
  if (classes.has(callee)) return { kind: 'instance', ref: callee };
  if (/(^|\.)(Redis|StrictRedis)$|(^|\.)from_url$/.test(callee) && /redis/i.test(callee + value.text)) return { kind: 'var', ref: 'redis' };
  return { kind: 'var' };
}

function targetNames(t: SyntaxNode | null, out: SyntaxNode[]): void {
  if (!t) return;
  if (t.type === 'identifier') out.push(t);
  else if (['pattern_list', 'tuple_pattern', 'list_pattern', 'tuple', 'list', 'parenthesized_expression'].includes(t.type)) {
    for (const c of t.namedChildren) targetNames(c, out);
  } else if (t.type === 'list_splat_pattern') targetNames(t.namedChild(0), out);
}

export function collectModuleFacts(root: SyntaxNode, source?: string): ModuleFacts {
  const facts: ModuleFacts = { symbols: new Map(), classes: new Map(), functions: [], lastImportLine: -1, lastPlainImportLine: -1, firstCodeLine: 0, imports: new Set() };
  const classNames = new Set<string>();
  // Classes first, so `x = Cls()` is known to be an instance whatever the order.
  const top = statements(root);
  for (const s of top) {
    const d = s.type === 'decorated_definition' ? s.childForFieldName('definition') : s;
    if (d?.type === 'class_definition') classNames.add(d.childForFieldName('name')?.text ?? '');
  }
  // Docstring and __future__ imports must stay first.
  let i = 0;
  if (top[0]?.type === 'expression_statement' && top[0].namedChild(0)?.type === 'string') { facts.firstCodeLine = top[0].endPosition.row + 1; i = 1; }
  for (; i < top.length && top[i].type === 'future_import_statement'; i++) facts.firstCodeLine = top[i].endPosition.row + 1;

  const define = (name: string, sym: Omit<ModuleSymbol, 'name'>) => {
    const prev = facts.symbols.get(name);
    // A name that is a lock somewhere stays a lock; otherwise the first definition wins except
    // that a plain var upgrades to a more specific kind.
    if (!prev || (prev.kind === 'var' && sym.kind !== 'var')) facts.symbols.set(name, { name, ...sym });
  };

  const visit = (stmts: SyntaxNode[], depth: number) => {
    for (const s of stmts) {
      const end = s.endPosition.row;
      switch (s.type) {
        case 'import_statement':
          if (depth === 0) { facts.lastImportLine = Math.max(facts.lastImportLine, end); facts.lastPlainImportLine = Math.max(facts.lastPlainImportLine, end); }
          for (const n of s.namedChildren) {
            if (!n) continue;
            if (n.type === 'aliased_import') {
              const mod = n.childForFieldName('name')?.text ?? '', alias = n.childForFieldName('alias')?.text ?? '';
              define(alias, { kind: 'module', ref: mod, endLine: end });
              facts.imports.add(`${alias}=${mod}`);
            } else if (n.type === 'dotted_name') {
              const first = n.text.split('.')[0];
              define(first, { kind: 'module', ref: n.text.includes('.') ? first : n.text, endLine: end });
              facts.imports.add(`${first}=${first}`);
            }
          }
          break;
        case 'import_from_statement': {
          if (depth === 0) facts.lastImportLine = Math.max(facts.lastImportLine, end);
          const mod = s.childForFieldName('module_name')?.text ?? '';
          for (const n of s.childrenForFieldName('name')) {
            if (!n) continue;
            const orig = n.type === 'aliased_import' ? n.childForFieldName('name')?.text ?? '' : n.text;
            const alias = n.type === 'aliased_import' ? n.childForFieldName('alias')?.text ?? '' : n.text;
            const store = importTag(mod, orig);
            define(alias, { kind: 'imported', ref: mod, origName: orig, endLine: end, ...(store ? { store } : {}) });
          }
          break;
        }
        case 'expression_statement': {
          let a = s.namedChild(0);
          const targets: SyntaxNode[] = [];
          let value: SyntaxNode | null = null;
          while (a && a.type === 'assignment') {
            targetNames(a.childForFieldName('left'), targets);
            value = a.childForFieldName('right');
            a = value;
          }
          if (a && a.type === 'augmented_assignment') targetNames(a.childForFieldName('left'), targets);
          const cls = classifyValue(value, classNames);
          const store = storeTagOfValue(value, n => symbolTag(facts.symbols, n));
          const v = value ? unparen(value) : null;
          const ctor = v?.type === 'call' ? dottedName(v.childForFieldName('function')) : '';
          for (const t of targets) {
            define(t.text, { ...cls, endLine: end, ...(store ? { store } : {}), ...(ctor ? { ctor } : {}) });
            // A later `x = redis.Redis()` after `x = None` still makes x a client.
            const sym = facts.symbols.get(t.text);
            if (sym && store && !sym.store) sym.store = store;
          }
          break;
        }
        case 'decorated_definition':
        case 'function_definition':
        case 'class_definition': {
          const d = s.type === 'decorated_definition' ? s.childForFieldName('definition') : s;
          const name = d?.childForFieldName('name')?.text;
          if (d && name) define(name, { kind: d.type === 'class_definition' ? 'class' : 'function', endLine: end });
          break;
        }
        case 'if_statement': case 'try_statement': case 'with_statement': case 'for_statement': case 'while_statement':
          for (const c of s.namedChildren) {
            if (!c) continue;
            if (c.type === 'block') visit(statements(c), depth + 1);
            else if (['elif_clause', 'else_clause', 'except_clause', 'finally_clause', 'except_group_clause'].includes(c.type)) {
              for (const b of c.namedChildren) if (b?.type === 'block') visit(statements(b), depth + 1);
            }
          }
          break;
      }
    }
  };
  visit(top, 0);
  indexFunctions(top, facts, source);
  // Factories: a top-level function that returns a client makes its callers' values clients.
  // Text test first (source slice, not node.text: that copies out of wasm memory for every function).
  const FACTORY = /\breturn\s+[^\n]*(Redis|redis|cache|Manager)/;
  for (const fn of facts.functions) {
    if (fn.parent || fn.className || !FACTORY.test(source !== undefined ? source.slice(fn.node.startIndex, fn.node.endIndex) : fn.node.text)) continue;
    for (const r of fn.node.descendantsOfType('return_statement')) {
      const tag = storeTagOfValue(r?.namedChild(0) ?? null, n => symbolTag(facts.symbols, n));
      const sym = facts.symbols.get(fn.name);
      if (tag && sym?.kind === 'function') { sym.store = tag; break; }
    }
  }
  for (const info of facts.classes.values()) classMembers(info, facts, source);
  return facts;
}

function decoratorsOf(stmt: SyntaxNode): SyntaxNode[] {
  if (stmt.type !== 'decorated_definition') return [];
  return stmt.namedChildren.filter((c): c is SyntaxNode => !!c && c.type === 'decorator').map(d => d.namedChild(0)!).filter(Boolean);
}

/** Every def in the module (methods, nested functions), and class attributes. */
// A def or class nested deeper than the first line of a function (cheap text test, so the walk can
// skip the statements of the many functions that have none).
const NESTED_DEF = /\n[ \t]+(?:async[ \t]+)?(?:def|class)[ \t]/;

function indexFunctions(top: SyntaxNode[], facts: ModuleFacts, source?: string): void {
  const walk = (stmts: SyntaxNode[], cls: ClassInfo | undefined, parent: FunctionInfo | undefined, prefix: string) => {
    for (const s of stmts) {
      const def = s.type === 'decorated_definition' ? s.childForFieldName('definition') : s;
      if (!def) continue;
      if (def.type === 'function_definition') {
        const name = def.childForFieldName('name')?.text ?? '?';
        const fn: FunctionInfo = {
          node: def, name, qualName: prefix + name, isAsync: isAsync(def), decorators: decoratorsOf(s),
          nested: new Map(), stmt: s, ...(cls ? { className: cls.name } : {}), ...(parent ? { parent } : {}),
        };
        facts.functions.push(fn);
        if (cls) cls.methods.set(name, fn);
        if (parent) parent.nested.set(name, fn);
        if (source === undefined || NESTED_DEF.test(source.slice(def.startIndex, def.endIndex))) walk(compoundBodies(def), undefined, fn, `${fn.qualName}.`);
      } else if (def.type === 'class_definition') {
        const name = def.childForFieldName('name')?.text ?? '?';
        const sup = def.childForFieldName('superclasses');
        const info: ClassInfo = {
          name, attrs: new Set(), methods: new Map(), attrTags: new Map(), attrCtors: new Map(), properties: new Map(),
          bases: sup ? sup.namedChildren.filter((c): c is SyntaxNode => !!c && c.type !== 'keyword_argument').map(c => dottedName(c)).filter(Boolean) : [],
        };
        if (!parent && !cls) facts.classes.set(name, info);
        for (const b of statements(def.childForFieldName('body'))) {
          const a = b.type === 'expression_statement' ? b.namedChild(0) : null;
          if (a?.type === 'assignment') {
            const t: SyntaxNode[] = [];
            targetNames(a.childForFieldName('left'), t);
            const tag = storeTagOfValue(a.childForFieldName('right'), n => symbolTag(facts.symbols, n));
            for (const x of t) { info.attrs.add(x.text); if (tag) info.attrTags.set(x.text, tag); }
          }
        }
        walk(compoundBodies(def), info, parent, `${prefix}${name}.`);
      } else {
        walk(compoundBodies(def), cls, parent, prefix);
      }
    }
  };
  walk(top, undefined, undefined, '');
}

/** `self.x = …` in any method (stores, constructed objects) and one-expression properties. */
function classMembers(info: ClassInfo, facts: ModuleFacts, source?: string): void {
  for (const m of info.methods.values()) {
    if (m.decorators.some(d => d.text === 'property' || d.text === 'cached_property' || d.text.endsWith('.cached_property'))) {
      const body = statements(m.node.childForFieldName('body')).filter(st => !(st.type === 'expression_statement' && st.namedChild(0)?.type === 'string'));
      const ret = body.length === 1 && body[0].type === 'return_statement' ? body[0].namedChild(0) : null;
      if (ret) info.properties.set(m.name, ret);
    }
    const body = m.node.childForFieldName('body');
    if (!body || !/self\.\w+\s*=/.test(source !== undefined ? source.slice(body.startIndex, body.endIndex) : body.text)) continue;
    for (const a of body.descendantsOfType('assignment')) {
      const left = a?.childForFieldName('left');
      if (!a || left?.type !== 'attribute' || left.childForFieldName('object')?.text !== 'self') continue;
      const attr = left.childForFieldName('attribute')?.text ?? '';
      const value = a.childForFieldName('right');
      const tag = storeTagOfValue(value, n => (n.startsWith('self.') ? info.attrTags.get(n.slice(5)) : symbolTag(facts.symbols, n)));
      if (tag && !info.attrTags.has(attr)) info.attrTags.set(attr, tag);
      const v = value ? unparen(value) : null;
      const ctor = v?.type === 'call' ? dottedName(v.childForFieldName('function')) : '';
      if (ctor && /^[A-Z]/.test(lastName(ctor)) && !info.attrCtors.has(attr)) info.attrCtors.set(attr, ctor);
    }
  }
}

/** Statements nested in a compound statement's blocks (one level). */
function compoundBodies(s: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (const c of s.namedChildren) {
    if (!c) continue;
    if (c.type === 'block') out.push(...statements(c));
    else if (['elif_clause', 'else_clause', 'except_clause', 'finally_clause', 'except_group_clause', 'case_clause'].includes(c.type)) {
      for (const b of c.namedChildren) if (b?.type === 'block') out.push(...statements(b));
    }
  }
  return out;
}

/** Whether `callee` names a Celery task decorator: `shared_task`, `app.task`, `x.y.task`, `periodic_task`. */
export function isTaskDecorator(expr: SyntaxNode): { task: boolean; bind: boolean } {
  const call = expr.type === 'call' ? expr : null;
  const name = dottedName(call ? call.childForFieldName('function') : expr);
  const last = lastName(name);
  const task = last === 'shared_task' || last === 'periodic_task' || (name.includes('.') && last === 'task') || name === 'task';
  if (!task || !call) return { task, bind: false };
  const bind = callArgs(call).keywords.get('bind');
  return { task, bind: bind?.type === 'true' };
}
