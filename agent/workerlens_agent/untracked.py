"""Objects the gc does not track, and the containers that hold memory, with a retainer path each.

str, bytes, int, float and dicts/tuples holding only such values are not in gc.get_objects(): a
module dict of rendered strings can grow by gigabytes and no gc-based count sees it. Here they are
found as referents of the tracked objects (C traversal, chunked, deduplicated by id), then the
untracked dicts/tuples among them are expanded in turn. Containers (dict/list/set/deque, tracked or
not) with many items are ranked by the bytes they hold directly; each gets a retainer path up to a
named root (module global, class attribute, a thread's frame) through gc.get_referrers. No user
code runs: lengths and items come from the C slots of the exact builtin types, sizes from
safe.SizeOf, names from str/int keys only.
"""
import collections
import gc
import sys
import time
import types
from itertools import chain, compress, filterfalse, repeat
from operator import is_

from . import gcobjects
from ._compat import originals
from .heapcounts import count_by
from .heapgraph import _items, key_name
from .safe import SizeOf, module_of, mro_of, own_attr, qualname, typedict_of

MAX_UNTRACKED = 3000000   # walk stops (partial) beyond this many distinct untracked objects
CHUNK = 32768
SAMPLE = 20000
MIN_LEN = 64              # containers with fewer items are not ranked
MAX_CANDIDATES = 300
MAX_OWNED_ITEMS = 20000   # owned bytes of bigger containers come from a strided sample
MAX_DEPTH = 10
MAX_FRONTIER = 200   # gc.get_referrers(*frontier) costs objects x referents x len(frontier)

_get_referents = gc.get_referents
_chain = chain.from_iterable
_dict_keys = dict.keys
_dict_values = dict.values
_is_tracked = gc.is_tracked
_FrameType = types.FrameType
_ModuleType = types.ModuleType
_CellType = type((lambda x: lambda: x)(0).__closure__[0])
_code_of = types.FunctionType.__dict__["__code__"].__get__
_object_getattribute = object.__getattribute__
_module_dict = types.ModuleType.__dict__["__dict__"].__get__
_deque = collections.deque
_CONTAINERS = (dict, list, set, frozenset, _deque, collections.OrderedDict, collections.defaultdict)
_LEN = {t: t.__len__ for t in _CONTAINERS}
_SHARED = (type, _ModuleType, types.FunctionType, types.BuiltinFunctionType, types.CodeType)
_local_type = None
try:
    import _thread
    _local_type = _thread._local
except Exception:
    pass
_AGENT_DIR = __file__.rsplit("/", 1)[0] if "/" in __file__ else ""
_sizeof = SizeOf()

# containers reported last time, so their series continue even when they fall out of the top
_history = {}     # id -> id(type)
_paths = {}       # "id:id(type)" -> labels joined by NUL: str only, so the gc does not track it
_state_lock = originals().allocate_lock()


def _lock():
    return _state_lock


def _reset_sizeof():
    global _sizeof
    _sizeof = SizeOf()  # a fresh, empty (so untracked) cache; the old one is freed


def _mean_sizes(vals, types_list, pairs):
    """Bytes per type: count x mean of a strided sample (exact when there are few)."""
    n = len(vals)
    step = max(1, n // SAMPLE)
    acc = {}
    for o in vals[::step]:
        t = type(o)
        a = acc.get(id(t))
        if a is None:
            a = acc[id(t)] = [0, 0]
        a[0] += _sizeof(o)
        a[1] += 1
    out = []
    for t, c in pairs:
        a = acc.get(id(t))
        if a and a[1]:
            size = a[0] * c // a[1]
        else:
            size = _sizeof(next(compress(vals, map(is_, types_list, repeat(t))))) * c
        out.append((t, c, int(size)))
    return out


def walk(top=15, max_paths=5, max_untracked=MAX_UNTRACKED):
    t0 = time.perf_counter()
    # every tracked object but exact tuples and frozensets (the worker may still be filling one:
    # gcobjects), so this list may be kept across the chunked walk; their referents come in C
    objs = gcobjects.tracked_sturdy()
    tracked_types = list(map(type, objs))
    u = gcobjects.fragile_untracked_referents()
    found = dict(zip(map(id, u), u))
    del u
    partial = False
    for i in range(0, len(objs), CHUNK):
        u = list(filterfalse(_is_tracked, _get_referents(*objs[i:i + CHUNK])))
        found.update(zip(map(id, u), u))
        del u
        if len(found) > max_untracked:
            partial = True
            break
    if not partial:
        # a dict with str keys does not visit them in tp_traverse: take keys through the C view
        u = list(filterfalse(_is_tracked, _chain(map(_dict_keys, compress(objs, map(is_, tracked_types, repeat(dict)))))))
        found.update(zip(map(id, u), u))
        del u
    found.pop(id(found), None)  # itself: an untracked dict our own frame refers to
    # untracked dicts/tuples (holding only atomic values) hold more untracked objects
    frontier = list(found.values())
    for _round in range(4):
        ftypes = list(map(type, frontier))
        inner = list(compress(frontier, map(is_, ftypes, repeat(dict))))
        inner += compress(frontier, map(is_, ftypes, repeat(tuple)))
        del ftypes
        if not inner or partial:
            break
        refs = _get_referents(*inner)
        refs += _chain(map(_dict_keys, compress(inner, map(is_, map(type, inner), repeat(dict)))))
        new = [o for o in filterfalse(_is_tracked, refs) if id(o) not in found]
        del refs
        found.update(zip(map(id, new), new))
        frontier = new
        del inner
    del frontier
    vals = list(found.values())
    del found
    types_list = list(map(type, vals))
    by_type = count_by(map(id, types_list))
    rep = dict(zip(map(id, types_list), types_list))
    pairs = [(rep[i], c) for i, c in by_type.items()]
    sized = _mean_sizes(vals, types_list, pairs)
    walk_ms = (time.perf_counter() - t0) * 1000.0
    rows = [{"type": qualname(t), "module": module_of(t), "count": c, "size": s} for t, c, s in sized]
    rows.sort(key=lambda r: (-r["size"], r["type"]))
    total = sum(r["size"] for r in rows)
    n_untracked = len(vals)

    # containers: tracked ones from objs, untracked dicts from vals; not module namespaces (their
    # globals are containers of their own)
    t1 = time.perf_counter()
    module_dicts = set(_module_dicts())
    cands = []
    for kind in _CONTAINERS:
        ln = _LEN[kind]
        for pool, pool_types, tracked in ((objs, tracked_types, True), (vals, types_list, False)):
            if not tracked and kind is not dict:
                continue
            group = list(compress(pool, map(is_, pool_types, repeat(kind))))
            for c, n in zip(group, map(ln, group)):
                if n >= MIN_LEN and id(c) not in module_dicts:
                    cands.append((n, c, tracked))
            del group
    del tracked_types, types_list, rep, by_type, pairs
    with _lock():
        prev = dict(_history)
    cands.sort(key=lambda e: -e[0])
    keep = cands[:MAX_CANDIDATES]
    keep_ids = set(id(e[1]) for e in keep)
    keep += [e for e in cands[MAX_CANDIDATES:] if id(e[1]) in prev and id(e[1]) not in keep_ids]
    del cands
    del objs, vals
    scored = []
    for n, c, tracked in keep:
        owned, item_types = _owned(c, n)
        scored.append((owned, n, c, tracked, item_types))
    del keep
    scored.sort(key=lambda e: -e[0])
    chosen = scored[:top]
    chosen_ids = set(id(e[2]) for e in chosen)
    chosen += [e for e in scored[top:] if prev.get(id(e[2])) == id(type(e[2])) and id(e[2]) not in chosen_ids]
    del scored
    containers_ms = (time.perf_counter() - t1) * 1000.0

    t2 = time.perf_counter()
    need = [e[2] for e in chosen if _key(e[2]) not in _paths][:max_paths]
    if need:
        found_paths = retainer_paths(need, exclude=(id(chosen), id(need)))
        with _lock():
            if len(_paths) > 512:
                _paths.clear()
            for key, val in found_paths.items():
                _paths[key] = val
    del need
    paths_ms = (time.perf_counter() - t2) * 1000.0
    out_containers = []
    for owned, n, c, tracked, item_types in chosen:
        t = type(c)
        p = _paths.get(_key(c))
        if p == AGENT:
            continue
        p = (p.split("\x00"), _text(p.split("\x00"))) if p else None
        out_containers.append({
            "id": id(c), "type": qualname(t), "module": module_of(t), "length": n, "tracked": tracked,
            "shallowBytes": _sizeof(c), "ownedBytes": owned, "itemTypes": item_types,
            "path": list(p[0]) if p else None, "pathText": p[1] if p else None})
    with _lock():
        _history.clear()
        for owned, n, c, tracked, item_types in chosen[:64]:
            _history[id(c)] = id(type(c))
    del chosen
    _reset_sizeof()  # its per-type entries would stay behind as the agent's own objects
    return {"objects": n_untracked, "bytes": int(total), "partial": partial, "byType": rows[:50],
            "containers": out_containers,
            "costMs": {"walk": round(walk_ms, 3), "containers": round(containers_ms, 3), "paths": round(paths_ms, 3)}}


_FAST = (str, bytes, int, float, tuple, dict, list, bytearray, set)  # C __sizeof__, no user code
_getsizeof = sys.getsizeof


def _owned(c, n):
    """Shallow size + the sizes of the items it holds directly (types, modules, functions excluded):
    one C pass per common builtin type, SizeOf for the rest (a strided sample when there are many)."""
    base = _sizeof(c)
    if type(c) is dict or type(c) is collections.OrderedDict or type(c) is collections.defaultdict:
        refs = list(_dict_keys(c))   # str keys are not visited by tp_traverse
        refs += _dict_values(c)
    else:
        refs = _get_referents(c)
    step = 1
    if len(refs) > MAX_OWNED_ITEMS:
        step = len(refs) // MAX_OWNED_ITEMS
        refs = refs[::step]
    rtypes = list(map(type, refs))
    by_type = count_by(map(id, rtypes))
    total = 0
    counted = 0
    kinds = []
    for t in _FAST:
        k = by_type.get(id(t), 0)
        if k:
            total += sum(map(_getsizeof, compress(refs, map(is_, rtypes, repeat(t)))))
            counted += k
            kinds.append((k, qualname(t)))
    if counted < len(refs):
        rest = [r for r, rt in zip(refs, rtypes) if rt not in _FAST and rt not in _SHARED]
        if rest:
            rstep = max(1, len(rest) // 2000)
            total += sum(map(_sizeof, rest[::rstep])) * rstep
            names = count_by(qualname(type(r)) for r in rest[:2000])
            kinds += [(k, nm) for nm, k in names.items()]
        del rest
    del refs, rtypes
    kinds.sort(key=lambda e: -e[0])
    return base + total * step, [nm for _k, nm in kinds[:3]]


# -- retainer paths ----------------------------------------------------------------------------
def _is_agent_frame(f):
    try:
        return f.f_code.co_filename.startswith(_AGENT_DIR)
    except Exception:
        return True


def _has(mro, klass):
    for m in mro or ():
        if m is klass:
            return True
    return False


def _module_dicts():
    """{id(module.__dict__): module name} from sys.modules (str keys, real modules only)."""
    modules = {}
    for name, m in _items(sys.modules):
        if type(name) is str and _has(mro_of(type(m)), _ModuleType):
            try:
                modules[id(_module_dict(m))] = name
            except Exception:
                pass
    return modules


def retainer_paths(targets, exclude=()):
    """{_key(target): labels joined by NUL} for the targets a named root reaches within MAX_DEPTH hops."""
    modules = _module_dicts()
    target_ids = set(map(id, targets))
    skip = set(exclude) | target_ids
    skip.add(id(targets))
    child_of = {}    # id(parent) -> id(child) one hop nearer a target
    keep = {}        # id -> object, for the chains (this dict itself is skipped)
    skip.add(id(keep))
    for t in targets:
        keep[id(t)] = t
    resolved = {}
    frontier = list(targets)
    for _depth in range(MAX_DEPTH):
        if not frontier or len(resolved) == len(target_ids):
            break
        fids = set(map(id, frontier))
        rs = gcobjects.referrers(frontier)  # without tuples/frozensets: paths through them are not followed
        skip.update((id(rs), id(frontier)))
        roots = []
        nxt = []
        for r in rs:
            rid = id(r)
            if rid in skip:
                continue
            rt = type(r)
            if rt is _FrameType and _is_agent_frame(r):
                continue
            children = [id(c) for c in _get_referents(r) if id(c) in fids]
            if not children:
                continue
            is_root = rid in modules or rt is _FrameType or _has(mro_of(rt), type)
            if rid in child_of:  # met again one level up (a module holding two things on the way)
                child_of[rid].extend(children)
                if is_root:
                    roots.append(r)
                continue
            child_of[rid] = children
            keep[rid] = r
            if is_root:
                roots.append(r)
            else:
                nxt.append(r)
        del rs
        for root in roots:
            for chain in _chains(root, child_of, keep, target_ids):
                tid = id(chain[-1])
                if tid not in resolved:
                    # the agent's own containers are left out, and never named (naming an
                    # instance attribute may materialise that instance's __dict__)
                    resolved[tid] = AGENT if _agent_root(root, modules) else "\x00".join(_label(chain, modules))
        del roots
        # dicts first: module, class and instance namespaces are the likely way up
        nxt.sort(key=lambda o: type(o) is not dict)
        frontier = nxt[:MAX_FRONTIER]
        del nxt
    del frontier
    out = {}
    for t in targets:
        if id(t) in resolved:
            out[_key(t)] = resolved[id(t)]
    keep.clear()
    return out


AGENT = "\x00agent"


def _agent_root(root, modules):
    name = modules.get(id(root))
    if name is None and _has(mro_of(type(root)), type):
        name = module_of(root)
    return name is not None and (name == "workerlens_agent" or name.startswith("workerlens_agent."))


def _chains(root, child_of, keep, target_ids):
    """Every chain root -> ... -> target through the BFS tree (depth-first, shortest first per level)."""
    stack = [[root]]
    while stack:
        chain = stack.pop()
        last = id(chain[-1])
        if last in target_ids and len(chain) > 1:
            yield chain
            continue
        for c in child_of.get(last, ()):
            if c in keep and all(id(x) != c for x in chain):
                stack.append(chain + [keep[c]])


def _label(chain, modules):
    """Labels of a chain root -> ... -> target: ["tasks", "_seen"] (text: "tasks._seen")."""
    root = chain[0]
    rt = type(root)
    labels = []
    attr_style = False
    if id(root) in modules:
        labels.append(modules[id(root)])
        attr_style = True
    elif rt is _FrameType:
        try:
            code = root.f_code
            labels.append("<frame %s() %s:%d>" % (code.co_name, code.co_filename.rsplit("/", 1)[-1], root.f_lineno or 0))
        except Exception:
            labels.append("<frame>")
    else:
        labels.append("%s.%s" % (module_of(root), qualname(root)))  # a class
    for parent, child in zip(chain, chain[1:]):
        step, attr_style = _step(parent, child, attr_style)
        if step:
            labels.append(step)
    return labels


def _text(labels):
    text = labels[0]
    for lab in labels[1:]:
        text += lab if lab.startswith("[") else "." + lab
    return text


def _key(o):
    return "%x:%x" % (id(o), id(type(o)))


def _step(parent, child, attr_style):
    """(label of the edge parent -> child, whether child's keys read as attributes)."""
    pt = type(parent)
    if pt is dict or _has(mro_of(pt), dict):
        if attr_style == "thread":
            return "", True  # the local's table of per-thread dicts: its keys are weakrefs
        try:
            for k, v in _items(parent):
                if v is child:
                    if attr_style and type(k) is str:
                        return k, False
                    return key_name(k), False
                if k is child:
                    return "<key>", False
        except Exception:
            pass
        return "<internal>", False
    if pt is list or pt is tuple:
        base = list if pt is list else tuple
        for i, v in enumerate(list(base.__iter__(parent))):
            if v is child:
                return "[%d]" % i, False
        return "<internal>", False
    if pt is set or pt is frozenset:
        return "<item>", False
    if pt is _FrameType:
        return "", False
    if _has(mro_of(pt), type):
        try:
            if child is _get_referents(typedict_of(parent))[0]:
                return "", True  # the class namespace: its keys are attributes
        except Exception:
            pass
        return "<internal>", False
    if _local_type is not None and pt is _local_type:
        return "<per-thread>", "thread"
    if pt is types.FunctionType or pt is types.MethodType or pt is _CellType:
        return "<%s>" % qualname(pt), False
    if type(child) is dict:
        return "", True  # an instance's __dict__ (materialised): keys are attribute names
    name = _instance_attr(parent, pt, child)
    return (name, False) if name else ("<%s>" % qualname(pt), False)


def _instance_attr(inst, t, child):
    """The attribute of a Python-class instance holding child, without materialising its __dict__
    (3.11+ keep attributes inline until someone reads __dict__): slots through their C member
    descriptors, then the names the class's methods assign (their code's co_names) read with
    object.__getattribute__ where the class defines nothing of that name (so no descriptor or
    property can run; the instance's own __getattribute__/__getattr__ are bypassed)."""
    names = []
    try:
        for klass in mro_of(t) or ():
            for name, value in _items(_get_referents(typedict_of(klass))[0]):
                tv = type(value)
                if tv is types.MemberDescriptorType and type(name) is str:
                    try:
                        if value.__get__(inst) is child:
                            return name
                    except Exception:
                        pass
                elif tv is types.FunctionType:
                    try:
                        names.extend(n for n in _code_of(value).co_names if type(n) is str)
                    except Exception:
                        pass
        seen = set()
        for name in names:
            if name in seen or own_attr(t, name) is not None:
                continue
            seen.add(name)
            try:
                if _object_getattribute(inst, name) is child:
                    return name
            except Exception:
                pass
    except Exception:
        pass
    return None
