"""Retainer paths: how a named root (module global, class attribute, thread-local, a thread's frame)
reaches some objects, as labels ("tasks", "leaky_storage", "[1234]" -> text "tasks.leaky_storage[1234]").

One breadth-first search up gc.get_referrers (gcobjects.referrers_noting_fragile: exact tuples and
frozensets are never held, only noted, so a path through one is not followed and the targets behind
it are marked), for every caller: the untracked containers of the memory breakdown (untracked.py)
and the flight recorder's growing types (typepaths.py). Bounded by hops, by how many referrers are
followed per hop and, when asked, by a deadline checked between hops (one gc.get_referrers call costs
about all objects x referents x len(frontier)). No user code runs: labels come from str/int keys,
C member descriptors and the names class methods assign (see _instance_attr).
"""
import sys
import time
import types
from itertools import repeat
from operator import indexOf as _index_of, is_

from . import gcobjects
from .heapgraph import _items, key_name
from .safe import module_of, mro_of, own_attr, qualname, typedict_of

MAX_DEPTH = 10
MAX_FRONTIER = 200   # gc.get_referrers(*frontier) costs objects x referents x len(frontier)
MAX_CHAINS = 2000    # chains read per root (a root reaching a target many ways)

_get_referents = __import__("gc").get_referents
_FrameType = types.FrameType
_ModuleType = types.ModuleType
_CellType = type((lambda x: lambda: x)(0).__closure__[0])
_code_of = types.FunctionType.__dict__["__code__"].__get__
_object_getattribute = object.__getattribute__
_module_dict = types.ModuleType.__dict__["__dict__"].__get__
_local_type = None
try:
    import _thread
    _local_type = _thread._local
except Exception:
    pass
_AGENT_DIR = __file__.rsplit("/", 1)[0] if "/" in __file__ else ""
AGENT = "\x00agent"   # a target reached only from the agent's own objects


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


def module_dicts():
    """{id(module.__dict__): module name} from sys.modules (str keys, real modules only)."""
    modules = {}
    for name, m in _items(sys.modules):
        if type(name) is str and _has(mro_of(type(m)), _ModuleType):
            try:
                modules[id(_module_dict(m))] = name
            except Exception:
                pass
    return modules


class Search(object):
    """What one search found: paths {id(target): labels joined by NUL, or AGENT}; via_fragile: ids of
    targets whose way up met an exact tuple/frozenset (not followed); stopped: None, "depth", "time"
    or "frontier" (referrers left out to stay bounded); hops: gc.get_referrers calls made."""

    def __init__(self):
        self.paths = {}
        self.via_fragile = set()
        self.stopped = None
        self.hops = 0


def search(targets, exclude=(), max_depth=MAX_DEPTH, max_frontier=MAX_FRONTIER, deadline=None, max_referrers=None):
    """Paths from named roots to the targets (see Search). exclude: ids of the caller's own containers
    holding targets. deadline: a time.perf_counter() value after which no further hop starts."""
    res = Search()
    modules = module_dicts()
    target_ids = set(map(id, targets))
    skip = set(exclude) | target_ids
    skip.add(id(targets))
    child_of = {}    # id(parent) -> ids of its children one hop nearer a target
    keep = {}        # id -> object, for the chains (this dict itself is skipped)
    skip.add(id(keep))
    for t in targets:
        keep[id(t)] = t
    resolved = res.paths
    frontier = list(targets)
    try:
        for depth in range(max_depth + 1):
            if not frontier or len(resolved) == len(target_ids):
                break
            if depth == max_depth:
                res.stopped = res.stopped or "depth"
                break
            if deadline is not None and time.perf_counter() > deadline:
                res.stopped = "time"
                break
            fids = set(map(id, frontier))
            rs, held_by_fragile = gcobjects.referrers_noting_fragile(frontier, max_referrers)
            res.hops += 1
            for fid in held_by_fragile:
                res.via_fragile.update(_targets_below(fid, child_of, target_ids))
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
                children = list(filter(fids.__contains__, map(id, _get_referents(r))))  # C: a big list is quick
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
            chain = None
            del roots
            if len(nxt) > max_frontier:
                res.stopped = "frontier"
                nxt = _fair(nxt, max_frontier, child_of, target_ids, resolved)
            else:  # dicts first: module, class and instance namespaces are the likely way up
                nxt.sort(key=lambda o: type(o) is not dict)
            frontier = nxt
            del nxt
    finally:
        del frontier
        keep.clear()
        child_of.clear()
    return res


def retainer_paths(targets, exclude=()):
    """{key_of(target): labels joined by NUL} for the targets a named root reaches within MAX_DEPTH hops."""
    found = search(targets, exclude).paths
    return {key_of(t): found[id(t)] for t in targets if id(t) in found}


def _fair(nxt, n, child_of, target_ids, resolved):
    """n of the referrers: taken in turn from the targets they lead to (one target's thousand
    referrers must not crowd out another's only way up), unresolved targets first, dicts first."""
    groups = {}
    for o in nxt:
        i = id(o)
        for _ in range(64):  # down the first child to a target
            if i in target_ids:
                break
            kids = child_of.get(i)
            if not kids:
                break
            i = kids[0]
        groups.setdefault(i, []).append(o)
    order = [g for _t, g in sorted(groups.items(), key=lambda kv: kv[0] in resolved)]
    for g in order:
        g.sort(key=lambda o: type(o) is not dict)
    out = []
    k = 0
    while len(out) < n and order:
        order = [g for g in order if len(g) > k]
        for g in order:
            if len(out) < n:
                out.append(g[k])
        k += 1
    return out


def _targets_below(fid, child_of, target_ids):
    """The targets the object fid leads to (itself when it is one), through the search tree so far."""
    out, stack, seen = [], [fid], set()
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        if i in target_ids:
            out.append(i)
        stack.extend(child_of.get(i, ()))
    return out




def _agent_root(root, modules):
    name = modules.get(id(root))
    if name is None and _has(mro_of(type(root)), type):
        name = module_of(root)
    return name is not None and (name == "workerlens_agent" or name.startswith("workerlens_agent."))


def _chains(root, child_of, keep, target_ids):
    """Every chain root -> ... -> target through the BFS tree (depth-first, shortest first per level)."""
    stack = [[root]]
    budget = MAX_CHAINS
    while stack and budget > 0:
        budget -= 1
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
    step = None
    for parent, child in zip(chain, chain[1:]):
        step, attr_style = _step(parent, child, attr_style)
        if step:
            labels.append(step)
    if step == "" and attr_style is True:
        labels.append("__dict__")  # the target is a class namespace or an instance's dict itself
    return labels


def path_text(labels):
    text = labels[0]
    for lab in labels[1:]:
        text += lab if lab.startswith("[") else "." + lab
    return text


def key_of(o):
    return "%x:%x" % (id(o), id(type(o)))


_NO_KEY = object()
_ATOMIC_KEYS = (str, int, bytes, float, bool, type(None))
_dict_keys, _dict_values, _dict_get = dict.keys, dict.values, dict.get


def _key_holding(d, child):
    """The key of d whose value is child, found in C (a big dict's items() would be a tuple per
    item), when it is a str/int/bytes/float key: those hash and compare in C, so dict.get can check
    the answer (the dict may change between the two C calls); else _NO_KEY and the slow way."""
    try:
        vals = list(_dict_values(d))
        i = len(vals) - 1 - _index_of(map(is_, reversed(vals), repeat(child)), True)  # from the end: the newest
        del vals
        keys = list(_dict_keys(d))
        k = keys[i] if 0 <= i < len(keys) else _NO_KEY
        del keys
        if type(k) in _ATOMIC_KEYS and _dict_get(d, k, _NO_KEY) is child:
            return k
    except Exception:
        pass
    return _NO_KEY


def _step(parent, child, attr_style):
    """(label of the edge parent -> child, whether child's keys read as attributes)."""
    pt = type(parent)
    if pt is dict or _has(mro_of(pt), dict):
        if attr_style == "thread":
            return "", True  # the local's table of per-thread dicts: its keys are weakrefs
        k = _key_holding(parent, child)
        if k is not _NO_KEY:
            if attr_style and type(k) is str:
                return k, False
            return key_name(k), False
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
        try:  # in C, from the end (sampled instances are the newest): bools compared with True, never
            # the items themselves (no __eq__ of theirs runs); over a copy, so the length matches
            items = list(base.__iter__(parent))
            return "[%d]" % (len(items) - 1 - _index_of(map(is_, reversed(items), repeat(child)), True)), False
        except ValueError:
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
