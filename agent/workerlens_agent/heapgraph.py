"""Walks the Python heap into flat V8-style node/edge arrays without running any user code.

Layout rules live in src/protocol/snapshot.ts. Objects are reached through gc.get_objects() and
gc.get_referents() (C traversal), types through type's own descriptors (safe.py), instance
attributes through the C `__dict__`/slot descriptors found in the class dicts: never getattr, repr,
__eq__ or __hash__ of a user object. Meant to run in a fork()ed copy of the process (materialising
instance dicts there costs the worker nothing); also runs in-process as a fallback.
"""
import gc
import sys
import types
import weakref
from array import array
from bisect import bisect_left as _bisect_left

from . import ownobjects
from .safe import SizeOf, flags_of, mro_of, own_attr, qualname, typedict_of

# V8 node types (index into meta.node_types[0]) and edge types (meta.edge_types[0])
NODE_TYPES = ["hidden", "array", "string", "object", "code", "closure", "regexp", "number", "native",
              "synthetic", "concatenated string", "sliced string", "symbol", "bigint", "object shape"]
EDGE_TYPES = ["context", "element", "property", "internal", "hidden", "shortcut", "weak"]
N_OBJECT, N_STRING, N_CODE, N_CLOSURE, N_NUMBER, N_NATIVE, N_SYNTHETIC = 3, 2, 4, 5, 7, 8, 9
E_CONTEXT, E_ELEMENT, E_PROPERTY, E_INTERNAL, E_WEAK = 0, 1, 2, 3, 6

HEAPTYPE = 1 << 9
TYPE_SUBCLASS = 1 << 31
TYPE_READY = 1 << 12
ID_TYPE_BITS = 20
ID_TYPE_MASK = (1 << ID_TYPE_BITS) - 1
FIRST_OBJECT_ID = 1001

(K_ATOM, K_DICT, K_SEQ, K_SET, K_MODULE, K_CLASS, K_INSTANCE, K_FUNCTION, K_WEAKREF, K_OTHER,
 K_METHOD, K_CELL) = range(12)

_get_referents = gc.get_referents
_GetSet = types.GetSetDescriptorType
_FrameType = types.FrameType
_Member = types.MemberDescriptorType
_ref_call = weakref.ref.__call__
_dict_items = dict.items


def _items(d):
    # one C call builds the list, so another thread mutating d cannot break the iteration
    return list(_dict_items(d))


_str_getitem = str.__getitem__
_str_str = str.__str__
_tuple_type = tuple
_ATOMIC_KEY_TYPES = (str, int, float, bool, type(None), bytes)
_bases_of = type.__dict__["__bases__"].__get__
_base_of = type.__dict__["__base__"].__get__


class IdMap(object):
    """Parent-side table: object address -> stable odd id, tagged with the type's address so a reused
    address gets a new id. Two sorted arrays (16 bytes per object, one opaque node in snapshots)
    rather than a dict of a million int objects the walk would then have to visit."""

    def __init__(self):
        self.addrs = array("Q")
        self.tags = array("Q")
        self.next_id = FIRST_OBJECT_ID

    def lookup(self, addr):
        j = _bisect_left(self.addrs, addr)
        if j < len(self.addrs) and self.addrs[j] == addr:
            return self.tags[j]
        return None


def _has(mro, klass):
    # identity only: `klass in mro` would call a metaclass's __eq__
    for m in mro:
        if m is klass:
            return True
    return False


_NoneType = type(None)
_EllipsisType = type(Ellipsis)
CO_OPTIMIZED = 0x1


_module_dict = types.ModuleType.__dict__["__dict__"].__get__
_obj_getattr = object.__getattribute__


def _thread_names():
    """ident -> name from threading's table. A Thread subclass may make `name`/`ident` properties:
    read `_name` with object.__getattribute__, and only when no class in its MRO defines `_name`."""
    out = {}
    mod = sys.modules.get("threading")
    if mod is None or type(mod) is not types.ModuleType:
        return out
    active = dict.get(_module_dict(mod), "_active")
    if type(active) is not dict:
        return out
    for ident, th in _items(active):
        name = None
        try:
            if own_attr(type(th), "_name") is None:
                name = _obj_getattr(th, "_name")
        except Exception:
            name = None
        if type(ident) is int:
            out[ident] = name if type(name) is str else "thread-%d" % ident
    return out


def _frame_locals(f, made=None):
    """A plain-dict copy of a frame's locals without user code, or None.

    Functions: f_locals is the frame's own dict, made by this read (<= 3.12; appended to `made`), or
    a C proxy (3.13). Other frames (module level, exec(), class bodies) may have a user mapping as
    locals: never iterate it, and skip frames whose f_locals getter would write cells into that
    mapping. The mapping stays reachable as an object."""
    code = f.f_code
    if not code.co_flags & CO_OPTIMIZED:
        if code.co_cellvars or code.co_freevars:
            return None
        loc = f.f_locals
        return dict.copy(loc) if type(loc) is dict else None
    loc = f.f_locals
    if type(loc) is dict:
        if made is not None:
            made.append(loc)
        return dict.copy(loc)
    return dict(loc) if not flags_of(type(loc)) & HEAPTYPE else None  # a C proxy (3.13): no user code


def _kind_of(t):
    if t is dict:
        return K_DICT
    if t is list or t is tuple:
        return K_SEQ
    # identity only: `t in (str, ...)` would call a metaclass's __eq__ (issue 11)
    if t is str or t is int or t is float or t is bool or t is bytes or t is complex or t is _NoneType \
            or t is _EllipsisType:
        return K_ATOM
    if t is set or t is frozenset:
        return K_SET
    if t is types.FunctionType:
        return K_FUNCTION
    if t is types.MethodType:
        return K_METHOD
    try:
        flags = flags_of(t)
    except Exception:
        return K_OTHER
    if flags & TYPE_SUBCLASS:
        return K_CLASS
    mro = mro_of(t) or ()
    if _has(mro, types.ModuleType):
        return K_MODULE
    if _has(mro, weakref.ref):
        return K_WEAKREF
    if flags & HEAPTYPE:
        return K_INSTANCE
    for base in (dict, list, tuple, set, frozenset, str, int, float, bytes):
        if _has(mro, base):
            return {dict: K_DICT, list: K_SEQ, tuple: K_SEQ, set: K_SET, frozenset: K_SET}.get(base, K_ATOM)
    return K_OTHER


def _node_type(t, kind):
    if kind == K_ATOM:
        if issubclass(t, (str, bytes)):
            return N_STRING
        return N_NUMBER if issubclass(t, (int, float, complex)) else N_OBJECT
    if kind == K_FUNCTION:
        return N_CLOSURE
    if t is types.CodeType:
        return N_CODE
    if kind in (K_DICT, K_SEQ, K_SET, K_MODULE, K_CLASS, K_INSTANCE, K_METHOD):
        return N_OBJECT
    return N_NATIVE


def key_name(k):
    """Dict key rendered as a code-like subscript (snapshot.ts): ['user-9'], [42], [<tuple>]."""
    t = type(k)
    if t is str:
        text = repr(k if len(k) <= 60 else _str_getitem(k, slice(0, 57)) + "...")
    elif t is int:
        text = repr(k) if -(10 ** 40) < k < 10 ** 40 else "<int>"
    elif t is bytes:
        text = repr(k if len(k) <= 60 else k[:57] + b"...")
    elif t is float or t is bool or k is None:
        text = repr(k)
    else:
        text = "<%s>" % qualname(t)
    if len(text) > 60:
        text = text[:57] + "..."
    return "[" + text + "]"


class Graph(object):
    def __init__(self):
        self.strings = ["<dummy>"]
        self._string_index = {"<dummy>": 0}
        self.ntype = array("B")
        self.nname = array("L")
        self.nid = array("Q")
        self.nsize = array("Q")
        self.necount = array("L")
        self.etype = array("B")
        self.ename = array("Q")
        self.eto = array("L")
        self.ids_out = None  # (addresses, tagged ids) for the parent's IdMap

    def s(self, text):
        i = self._string_index.get(text)
        if i is None:
            i = self._string_index[text] = len(self.strings)
            self.strings.append(text)
        return i

    @property
    def node_count(self):
        return len(self.ntype)

    @property
    def edge_count(self):
        return len(self.etype)


def capture_threads(agent_idents):
    """In the live process: [(thread name, [(function, frame)...innermost first])].

    Frames only, never their locals: on CPython <= 3.12 the first f_locals read of a running function
    attaches a dict to its frame for as long as the frame runs (the worker's main loop: forever),
    and the Heap view showed those dicts as the user's growth after every first snapshot (dict +35 on
    an idle Celery child). build() reads the locals, in the fork child where that dict is made in the
    copy. The child deletes the other threads' states but not their frames' memory (their stacks
    are neither freed nor reused there): reading a captured frame is safe until the child exits."""
    try:
        names = _thread_names()
    except Exception:
        names = {}
    out = []
    for ident, frame in _dict_items(sys._current_frames()):
        if ident in agent_idents:
            continue
        frames = []
        f = frame
        while f is not None and len(frames) < 200:
            frames.append((f.f_code.co_name, f))
            f = f.f_back
        out.append((names.get(ident, "thread-%d" % ident), frames))
    return out


def _with_locals(threads, made, in_worker=False):
    """capture_threads' frames replaced by copies of their locals ({} where unreadable); the dicts
    the reads attached to frames (<= 3.12) go to `made` (in the worker: noted for the counts too)."""
    out = []
    for tname, frames in threads:
        resolved = []
        for fname, f in frames:
            n = len(made)
            try:
                local_vars = _frame_locals(f, made)
            except Exception:
                local_vars = None
            if in_worker and len(made) > n:
                ownobjects.note(f, made[-1])
            resolved.append((fname, local_vars if local_vars is not None else {}))
        out.append((tname, resolved))
    return out


def build(threads, id_map, progress=None, exclude=(), in_process=False):
    """The whole graph; `threads` from capture_threads (taken before fork), `id_map` an IdMap.

    In the fork child no other thread runs, so gc.get_objects() is safe to hold. In process
    (no fork) the walk runs Python code while other threads may run, so its roots leave out exact
    tuples and frozensets (gcobjects): holding one the worker is still filling fails it with
    SystemError. Those reached from another object are still found through its referents.
    In process on CPython <= 3.12, reading the locals attaches a dict to each running frame of the
    worker (see capture_threads): the fork path, the default, never does."""
    # Listed here, before _build's frame exists: its closure cells (index, objs...) are created
    # on entry and must not be part of the heap being described. The captured lists and tuples
    # are the agent's own: not nodes.
    captured = [threads] + [frames for _t, frames in threads] + [pair for _t, frames in threads for pair in frames]
    # The frames' own locals dicts that reading made (<= 3.12) exist in this copy only, not in the
    # worker: left out, or they would be roots here (and frame -> dict edges on <= 3.10). Their
    # entries are the frame nodes' edges. (A dict the worker had made itself by calling locals() is
    # left out too: the one node lost, never its contents.)
    made = []
    threads = _with_locals(threads, made, in_worker=in_process)
    exclude = tuple(exclude) + tuple(captured) + tuple(made)
    del captured, made
    if in_process:
        from . import gcobjects
        return _build(gcobjects.tracked_sturdy(), threads, id_map, progress, exclude)
    return _build(gc.get_objects(), threads, id_map, progress, exclude)


def _build(tracked, threads, id_map, progress, exclude):
    g = Graph()
    s = g.s
    sizer = SizeOf()
    index = {}          # id(obj) -> node index (aliases: a module/class dict maps to its owner)
    objs = []           # node index -> object (None for synthetic)
    owned = set()       # ids of instance __dict__s: their entries hang off the instance
    tinfo = {}          # id(type) -> (type, kind, node type, name index, size fn)
    excluded = set(id(x) for x in exclude)
    excluded.add(id(exclude))
    excluded.add(id(threads))
    old_addrs, old_tags = id_map.addrs, id_map.tags
    n_old = len(old_addrs)
    next_id = [id_map.next_id]
    new_addr = array("Q")
    new_tag = array("Q")

    # synthetic part: root, groups, threads and frames; their edges are collected here
    syn_edges = []      # per synthetic node: list of (edge type, name or index, target object or node idx)
    def synthetic(name):
        objs.append(None)
        syn_edges.append([])
        g.ntype.append(N_SYNTHETIC)
        g.nname.append(s(name))
        g.nid.append(2 * len(objs))  # even ids: never collide with objects' odd ids
        g.nsize.append(0)
        g.necount.append(0)
        return len(objs) - 1

    root = synthetic("")
    modules_group = synthetic("(modules)")
    threads_group = synthetic("(threads)")
    gcroots_group = synthetic("(gc roots)")
    for grp in (modules_group, threads_group, gcroots_group):
        syn_edges[root].append((E_ELEMENT, grp - 1, ("node", grp)))
    for tname, frames in threads:
        tnode = synthetic("thread %s" % tname)
        syn_edges[threads_group].append((E_PROPERTY, s(str(tname)), ("node", tnode)))
        excluded.add(id(frames))
        for i, pair in enumerate(frames):
            fname, local_vars = pair
            fnode = synthetic("frame %s" % fname)
            excluded.add(id(pair))
            excluded.add(id(local_vars))
            syn_edges[tnode].append((E_ELEMENT, i, ("node", fnode)))
            for k, v in _items(local_vars):
                syn_edges[fnode].append((E_CONTEXT, s(k if type(k) is str else key_name(k)), ("obj", v)))
    n_synthetic = len(objs)

    def add(o):
        i = index.get(id(o))
        if i is None:
            i = index[id(o)] = len(objs)
            objs.append(o)
        return i

    # modules first so they get low indices; then every gc-tracked object
    try:
        mod_items = list(_dict_items(sys.modules))
    except Exception:
        mod_items = []
    for name, mod in mod_items:
        if type(name) is str and mod is not None:
            syn_edges[modules_group].append((E_PROPERTY, s(name), ("obj", mod)))
            m = add(mod)
            if _kind_of(type(mod)) == K_MODULE:
                for r in _get_referents(mod):
                    if type(r) is dict:
                        index.setdefault(id(r), m)  # module __dict__ collapsed into the module node
    # heap classes next, their namespaces collapsed into the class node the same way
    stack = [object]
    seen_classes = set()
    while stack:
        cls = stack.pop()
        if id(cls) in seen_classes:
            continue
        seen_classes.add(id(cls))
        try:
            stack.extend(type.__subclasses__(cls))
            if flags_of(cls) & HEAPTYPE:
                c = add(cls)
                index.setdefault(id(_get_referents(typedict_of(cls))[0]), c)
        except Exception:
            continue
    del stack, seen_classes
    for edges in syn_edges:
        for et, nm, (kind, target) in edges:
            if kind == "obj":
                add(target)
    for o in tracked:
        if id(o) not in excluded:
            add(o)
    del tracked
    total_hint = len(objs)

    etype, ename, eto = g.etype, g.ename, g.eto
    ntype, nname, nid, nsize, necount = g.ntype, g.nname, g.nid, g.nsize, g.necount
    name_internal = s("<internal>")
    name_dict = s("__dict__")
    name_class = s("__class__")
    name_key = s("<key>")
    name_weak = s("<weakref>")
    fn_names = {}
    # not __dict__/__annotations__: their getters create a dict when there is none
    for attr in ("__code__", "__globals__", "__defaults__", "__kwdefaults__", "__closure__",
                 "__name__", "__qualname__", "__module__", "__doc__"):
        fn_names[attr] = s(attr)
    slot_cache = {}     # id(type) -> [(name index, member descriptor)] and the __dict__ descriptor

    def type_info(t):
        e = tinfo.get(id(t))
        if e is not None and e[0] is t:
            return e
        kind = _kind_of(t)
        e = (t, kind, _node_type(t, kind), s(qualname(t)), sizer.fn_for(t))
        tinfo[id(t)] = e
        return e

    def instance_layout(t):
        e = slot_cache.get(id(t))
        if e is not None and e[0] is t:
            return e
        dict_desc = None
        slots = []
        seen = set()
        try:
            for klass in mro_of(t) or ():
                for name, value in _items(_get_referents(typedict_of(klass))[0]):
                    if type(name) is not str or name in seen:
                        continue
                    seen.add(name)
                    tv = type(value)
                    if name == "__dict__" and tv is _GetSet and dict_desc is None:
                        dict_desc = value
                    elif tv is _Member:
                        slots.append((s(name), value))
        except Exception:
            pass
        e = (t, dict_desc, slots)
        slot_cache[id(t)] = e
        return e

    def edge(kind, name, target):
        etype.append(kind)
        ename.append(name)
        eto.append(add(target))

    i = n_synthetic
    while i < len(objs):
        o = objs[i]
        t = type(o)
        _t, kind, ntyp, tname, size_fn = type_info(t)
        # stable id: the parent's table, tagged with the type so a reused address gets a fresh id
        addr = id(o)
        tag = id(t) & ID_TYPE_MASK
        j = _bisect_left(old_addrs, addr)
        v = old_tags[j] if j < n_old and old_addrs[j] == addr else None
        if v is not None and v & ID_TYPE_MASK == tag:
            oid = v >> ID_TYPE_BITS
        else:
            oid = next_id[0]
            next_id[0] += 2
        new_addr.append(addr)
        new_tag.append((oid << ID_TYPE_BITS) | tag)
        ntype.append(ntyp)
        nid.append(oid)
        try:
            nsize.append(size_fn(o))
        except Exception:
            nsize.append(0)
        start = len(etype)
        if kind == K_ATOM:
            if t is str:
                nname.append(s(o if len(o) <= 100 else _str_getitem(o, slice(0, 100))))
            elif issubclass(t, str):
                nname.append(s(_str_getitem(o, slice(0, 100))))
            else:
                nname.append(tname)
            if t is not str and t is not int and t is not float:
                refs = _get_referents(o)
                for r in refs:
                    edge(E_INTERNAL, name_internal, r)
        elif kind == K_DICT:
            nname.append(tname)
            if addr not in owned:
                for k, val in _items(o):
                    edge(E_PROPERTY, s(key_name(k)), val)
                    if type(k) not in _ATOMIC_KEY_TYPES:
                        edge(E_INTERNAL, name_key, k)
                if t is not dict:
                    _rest(o, t, edge, s, instance_layout, name_dict, name_class, name_internal, owned, skip_items=True)
        elif kind == K_SEQ:
            nname.append(tname)
            # items through the C iterator: gc.get_referents visits a list/tuple backwards
            base = list if (t is list or (t is not tuple and _has(mro_of(t) or (), list))) else tuple
            if t is not list and t is not tuple:
                _rest(o, t, edge, s, instance_layout, name_dict, name_class, name_internal, owned, skip_items=True)
            for j, r in enumerate(list(base.__iter__(o))):
                etype.append(E_ELEMENT)
                ename.append(j)
                eto.append(add(r))
        elif kind == K_SET:
            nname.append(tname)
            if t is set or t is frozenset:
                for j, r in enumerate(_get_referents(o)):
                    etype.append(E_ELEMENT)
                    ename.append(j)
                    eto.append(add(r))
            else:
                _rest(o, t, edge, s, instance_layout, name_dict, name_class, name_internal, owned, elements=True)
        elif kind == K_MODULE:
            nname.append(tname)
            for r in _get_referents(o):
                if type(r) is dict and index.get(id(r)) == i:
                    for k, val in _items(r):
                        edge(E_PROPERTY, s(k if type(k) is str else key_name(k)), val)
                else:
                    edge(E_INTERNAL, name_internal, r)
        elif kind == K_CLASS:
            nname.append(s("class " + qualname(o)))
            try:
                tp_dict = _get_referents(typedict_of(o))[0]
            except Exception:
                tp_dict = None
            named = {}
            try:
                if flags_of(o) & TYPE_READY:  # a static type never readied has NULL tp_bases: crash
                    named[id(mro_of(o))] = s("__mro__")
                    named[id(_bases_of(o))] = s("__bases__")
                    named[id(_base_of(o))] = s("__base__")
            except Exception:
                pass
            named[id(t)] = name_class
            for r in _get_referents(o):
                if r is tp_dict and index.get(id(r)) == i:
                    for k, val in _items(r):
                        edge(E_PROPERTY, s(k if type(k) is str else key_name(k)), val)
                else:
                    edge(E_INTERNAL, named.get(id(r), name_internal), r)
        elif kind == K_INSTANCE:
            nname.append(tname)
            _rest(o, t, edge, s, instance_layout, name_dict, name_class, name_internal, owned)
        elif kind == K_FUNCTION:
            nname.append(tname)
            named = {}
            for attr, nm in fn_names.items():
                try:
                    named[id(getattr(o, attr))] = nm  # exact FunctionType: C getters only
                except Exception:
                    pass
            for r in _get_referents(o):
                edge(E_INTERNAL, named.get(id(r), name_internal), r)
        elif kind == K_WEAKREF:
            nname.append(tname)
            try:
                target = _ref_call(o)
            except Exception:
                target = None
            if target is not None:
                edge(E_WEAK, name_weak, target)
            for r in _get_referents(o):
                edge(E_INTERNAL, name_internal, r)
        elif t is _FrameType:  # <= 3.10 a frame refers to its locals dict: made by the walk, left out
            nname.append(tname)
            for r in _get_referents(o):
                if id(r) not in excluded:
                    edge(E_INTERNAL, name_internal, r)
        else:
            nname.append(tname)
            for r in _get_referents(o):
                edge(E_INTERNAL, name_internal, r)
        necount.append(len(etype) - start)
        i += 1
        if progress is not None and not i & 0xFFFF:
            progress(i, max(total_hint, len(objs)))

    # synthetic edges resolved to node indices; unreachable objects become "(gc roots)" children
    syn = []
    for edges in syn_edges:
        resolved = []
        for et, nm, (kind, target) in edges:
            resolved.append((et, nm, target if kind == "node" else index[id(target)]))
        syn.append(resolved)
    syn[gcroots_group] = _gc_roots(g, n_synthetic, syn)
    g.syn_edges = syn
    for k in range(n_synthetic):
        g.necount[k] = len(syn[k])
    order = sorted(range(len(new_addr)), key=new_addr.__getitem__)
    g.ids_out = (array("Q", map(new_addr.__getitem__, order)), array("Q", map(new_tag.__getitem__, order)),
                 next_id[0])
    del order
    if progress is not None:
        progress(len(objs), len(objs))
    return g


def _rest(o, t, edge, s, instance_layout, name_dict, name_class, name_internal, owned, elements=False,
          skip_items=False):
    """Edges of an instance of a Python class: __dict__ entries, slots, then whatever C holds."""
    _t, dict_desc, slots = instance_layout(t)
    done = set()
    if dict_desc is not None:
        try:
            d = dict_desc.__get__(o, t)  # C subtype_dict; creates the dict on 3.11+ (fine in a fork)
        except Exception:
            d = None
        if type(d) is dict:
            owned.add(id(d))
            done.add(id(d))
            for k, val in _items(d):
                done.add(id(val))  # 3.13 also reports inline values as the instance's referents
                edge(E_PROPERTY, s(k) if type(k) is str else s(key_name(k)), val)
            edge(E_INTERNAL, name_dict, d)
    for nm, desc in slots:
        try:
            val = desc.__get__(o, t)
        except Exception:
            continue
        done.add(id(val))
        edge(E_PROPERTY, nm, val)
    done.add(id(t))
    edge(E_INTERNAL, name_class, t)
    j = 0
    for r in _get_referents(o):
        if id(r) in done:
            continue
        if elements:
            edge(E_ELEMENT, j, r)
            j += 1
        elif not skip_items:
            edge(E_INTERNAL, name_internal, r)


def _gc_roots(g, n_synthetic, syn):
    """Targets for '(gc roots)': a minimal set of object nodes that makes every node reachable."""
    n = g.node_count
    # object nodes' edges are stored in node order from offset 0 (synthetic nodes have none there)
    first = array("Q", [0]) * (n + 1)
    pos = 0
    necount = g.necount
    for k in range(n):
        first[k] = pos
        pos += necount[k]
    first[n] = pos
    seen = bytearray(n)
    eto, etype = g.eto, g.etype
    stack = []
    for k in range(n_synthetic):
        seen[k] = 1
        for _et, _nm, target in syn[k]:
            if not seen[target]:
                seen[target] = 1
                stack.append(target)

    def drain():
        while stack:
            k = stack.pop()
            for e in range(first[k], first[k + 1]):
                t = eto[e]
                if not seen[t] and etype[e] != E_WEAK:  # DevTools ignores weak edges for distances
                    seen[t] = 1
                    stack.append(t)

    drain()
    roots = []
    # prefer nodes nothing points at; then one member of each remaining unreachable cycle
    indeg = bytearray(n)
    for t, et in zip(eto, etype):
        if et != E_WEAK:
            indeg[t] = 1
    for pass_ in (0, 1):
        k = seen.find(0, n_synthetic)
        while k != -1:
            if pass_ == 1 or not indeg[k]:
                roots.append(k)
                seen[k] = 1
                stack.append(k)
                drain()
            k = seen.find(0, k + 1)
    return [(E_ELEMENT, j, k) for j, k in enumerate(roots)]
