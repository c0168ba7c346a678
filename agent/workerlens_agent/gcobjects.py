"""gc.get_objects() and gc.get_referrers() without ever holding a tuple the worker is still filling.

CPython fills a new tuple in place and requires that nobody else holds it meanwhile:
_PyTuple_Resize (tuple(genexpr), PySequence_Tuple) and PyTuple_SetItem (C extensions: sqlite3 rows,
...) raise SystemError "bad argument to internal function" when its refcount is not 1, and
PySet_Add does the same for a frozenset being filled. Both are gc-tracked from birth, so
gc.get_objects() (and gc.get_referrers()) return them. If the agent still holds that list when the
GIL goes back to the builder (between any two bytecodes in 3.8/3.9, at calls and backward jumps
later), the worker fails.

So the lists these functions return exist only inside one C call chain ("atomically"): no Python
code runs in it, so no other thread can run, and the list is consumed and freed before the call
returns. What survives the call is types, ints, and objects of every other type (dicts, lists,
instances, namedtuples...: CPython never requires those to be private; a tuple subclass is built
as an exact tuple first, then copied in C). The gc's automatic collections are off for the length
of the call (a collection could run a finalizer, i.e. Python code, in the middle), and back to
exactly what they were, in the same call.
"""
import gc
import sys
from collections import deque
from functools import partial
from itertools import chain, compress, filterfalse, islice, repeat
from operator import is_not, itemgetter, methodcaller, not_

try:
    from collections import _count_elements  # the C loop behind Counter
except ImportError:  # pragma: no cover - every CPython 3.x has it
    def _count_elements(mapping, iterable):
        for e in iterable:
            mapping[e] = mapping.get(e, 0) + 1

FRAGILE = (tuple, frozenset)   # exact types CPython fills in place (refcount must be 1)
_FRAGILE_IDS = {id(t): True for t in FRAGILE}
_STURDY = {id(t): False for t in FRAGILE}
_call = methodcaller("__call__")
_get_objects = gc.get_objects
_getsizeof = sys.getsizeof
_from = chain.from_iterable


class _Lazy(object):
    """One list from fn (gc.get_objects, gc.get_referrers), made inside atomically() and read there
    through any number of views. The views are chain.from_iterable(box) made before the list
    exists, so they see it once fill puts it in the box, all in the same order. No itertools.tee:
    its first buffer link is gc-tracked and made before the list, so the list contains it and the
    link can end up among its own values; measured: a link outlived the call, holding up to 57 of
    the objects (a tuple being filled among them)."""

    def __init__(self, fn):
        self.box = []
        self.fill = partial(deque, map(self.box.append, islice(iter(fn, None), 1)), 0) if fn else None
        self.views = []

    def view(self):
        v = _from(self.box)
        self.views.append(v)
        return v

    def run(self, *steps, **kw):
        """atomically(fill, *steps, then drain every view and drop the list). Draining matters: when
        compress() runs out of data it leaves its selectors' view one short of the end, and that
        view's list iterator would keep the whole list alive. kw["also"]: more _Lazy whose lists
        the steps make (filled by a step; drained and dropped here too)."""
        lazies = (self,) + tuple(kw.get("also", ()))
        drains = tuple(partial(deque, v, 0) for z in lazies for v in z.views)
        clears = tuple(z.box.clear for z in lazies)
        try:
            return atomically(self.fill, *(steps + drains + clears))[1:1 + len(steps)]
        except BaseException:
            for c in clears:
                c()
            for d in drains:
                d()
            raise


def objects(generation=None):
    return _Lazy(_get_objects if generation is None else partial(_get_objects, generation))


def atomically(*steps):
    """Call the zero-argument C callables `steps` back to back inside one C call (deque over a
    chain of maps): no bytecode runs between them, so no thread switch; the gc's automatic
    collections are disabled meanwhile (only if they were enabled: the flag is read in the same
    call). Returns the steps' results. A step must be C all the way down (partial over C functions
    and itertools)."""
    was = []
    results = []
    job = chain(map(was.append, map(_call, (gc.isenabled,))),
                map(_call, compress((gc.disable,), was)),
                map(results.append, map(_call, steps)),
                map(_call, compress((gc.enable,), was)))
    try:
        deque(job, 0)
    except BaseException:
        if was and was[0] and len(results) < len(steps):
            gc.enable()  # a step raised before the chain could re-enable (steps are C: rare)
        raise
    return results


def _sturdy(lazy):
    """The objects of the lazy list except exact tuples and frozensets, as an iterator (two views:
    one read for the types; {id(tuple): False, id(frozenset): False}.get(id, True), in C)."""
    return compress(lazy.view(), map(_STURDY.get, map(id, map(type, lazy.view())), repeat(True)))


def _kept(lazy, wanted):
    return compress(lazy.view(), map(wanted.get, map(id, map(type, lazy.view()))))


def _listed(holder, it):
    """A step that makes list(it) inside the call (so that new list is not among the objects)."""
    return partial(deque, map(holder.append, map(list, (it,))), 0)


def _slice_into(sample, lazy, step):
    """A step that puts L[::step] (a C copy, made inside the call) in sample's box."""
    return partial(deque, map(sample.box.append, map(itemgetter(slice(None, None, max(1, step))), lazy.box)), 0)


def counts_by_type():
    """{type: count} of every gc-tracked object (types hashed by their metaclass: callers check
    that every metaclass hashes by identity first)."""
    d = {}
    lazy = objects()
    lazy.run(partial(deque, map(partial(_count_elements, d), map(partial(map, type), lazy.box)), 0))
    return d


def all_types():
    """[type(o) for o in gc.get_objects()], in C (types are safe to hold)."""
    holder = []
    lazy = objects()
    lazy.run(_listed(holder, map(type, lazy.view())))
    return holder.pop()


def sizes_of(wanted, step=1):
    """([type], [size]) of every step-th gc-tracked object whose id(type) is in `wanted` (a dict
    id -> True of types whose __sizeof__ is C and accepts them: safe.sizeof_is_c). Sizes come from
    sys.getsizeof inside the C call, so tuples are measured too and only ints and types are held."""
    holder = []
    lazy = objects()
    # the strided sample as a list of its own, made inside the call (so not among the objects),
    # read by four views: cheaper than striding the whole list four times
    sample = _Lazy(None)
    lazy.run(_slice_into(sample, lazy, step),
             _listed(holder, map(type, _kept(sample, wanted))),
             _listed(holder, map(_getsizeof, _kept(sample, wanted))), also=(sample,))
    sizes = holder.pop()
    return holder.pop(), sizes


def tracked_sturdy(generation=None):
    """Every gc-tracked object except exact tuples and frozensets (a list the caller may keep).
    compress(L, not fragile(type(o)) for o in L) composed as maps over the box, so the list's own
    iterators feed it (no view layer per object)."""
    holder = []
    lazy = objects(generation)
    sel = map(partial(map, not_), map(partial(map, _FRAGILE_IDS.get), map(partial(map, id), map(partial(map, type), lazy.box))))
    lazy.run(partial(deque, map(holder.append, map(list, map(compress, lazy.box, sel))), 0))
    return holder.pop()


def fragile_untracked_referents():
    """The untracked objects that gc-tracked exact tuples and frozensets refer to, as one list made
    in C (a tuple being filled is referenced by nobody, so it is never among them)."""
    out = []
    lazy = objects()
    # one call per object: starmap(get_referents, (fragile,)) would build its argument tuple with
    # PySequence_Tuple while the lists are read, and a tuple the agent is filling is as fragile
    lazy.run(partial(out.extend, filterfalse(gc.is_tracked, _from(map(gc.get_referents, _kept(lazy, _FRAGILE_IDS))))))
    return out


def referrers(targets, keep_types=None):
    """gc.get_referrers(*targets) without exact tuples and frozensets (or only objects whose exact
    type is in keep_types, a dict id(type) -> True)."""
    holder = []
    lazy = _Lazy(partial(gc.get_referrers, *targets))
    lazy.run(_listed(holder, _sturdy(lazy) if keep_types is None else _kept(lazy, keep_types)))
    return holder.pop()


def referrers_noting_fragile(targets, limit=None):
    """(referrers(targets), at most `limit` of them; the ids of targets an exact tuple/frozenset among
    the referrers holds). Those tuples are never held: their referents' ids are read inside the call
    (retainerpaths marks what lies behind them). Not the call's own argument tuple (3.11+ keep it)."""
    holder = []
    fn = partial(gc.get_referrers, *targets)
    wanted = set(map(id, targets))
    lazy = _Lazy(fn)
    rs = _sturdy(lazy) if limit is None else islice(_sturdy(lazy), limit)
    fragile = filter(partial(is_not, fn.args), _kept(lazy, _FRAGILE_IDS))
    lazy.run(_listed(holder, rs), _listed(holder, filter(wanted.__contains__, map(id, _from(map(gc.get_referents, fragile))))))
    held = holder.pop()
    return holder.pop(), set(held)


def last_of_types(wanted, k, window=None):
    """{id(type): deque of the last k gc-tracked objects of that exact type, in gc.get_objects() order}
    for the types in `wanted` (ids; exact tuple and frozenset are refused). One pass, routed in C:
    each object goes to its type's bounded deque or to a deque of length 0, so memory stays k per type.
    window: only the last `window` objects are read (a C copy of that slice, made and dropped inside
    the call), so the cost does not grow with the heap. The caller drops its own containers (picks
    of an earlier call) from the result."""
    sink = deque(maxlen=0)
    pick = {}
    for i in wanted:
        if i not in _FRAGILE_IDS:
            pick[i] = deque(maxlen=max(1, int(k)))
    lazy = objects()
    steps = ()
    src = lazy
    if window:
        src = _Lazy(None)
        steps = (partial(deque, map(src.box.append, map(itemgetter(slice(-int(window), None)), lazy.box)), 0),)
    route = map(pick.get, map(id, map(type, src.view())), repeat(sink))
    lazy.run(*(steps + (partial(deque, map(deque.append, route, src.view()), 0),)), also=(src,) if window else ())
    # ours were gc objects during the pass too (a dict, deques, a list): never hand them out
    own = set(map(id, pick.values()))
    own.update((id(pick), id(sink), id(lazy.box), id(src.box)))
    for d in pick.values():
        if any(map(own.__contains__, map(id, d))):
            keep = [o for o in d if id(o) not in own]
            d.clear()
            d.extend(keep)
            del keep
    return pick


def total():
    """len(gc.get_objects()), without keeping the list."""
    holder = []
    lazy = objects()
    lazy.run(partial(deque, map(holder.append, map(len, lazy.box)), 0))
    return holder.pop() if holder else 0


def counts_and_sample(step, by_type=True):
    """One pass over one gc.get_objects() list: ({type: count} (or [type(o)...] when by_type is
    false: the caller counts by id), a sample of every step-th object without exact tuples and
    frozensets (safe to keep), and ([type], [size]) of the exact tuples/frozensets of that sample,
    measured inside the call (tuple.__sizeof__ and frozenset.__sizeof__ are C)."""
    d, holder = {}, []
    lazy = objects()
    sample = _Lazy(None)
    # map over the box applies a function to the list itself (map(type, L), L[::step]): no view
    # layer per object, and the slice is a C copy
    types_of = map(partial(map, type), lazy.box)
    if by_type:
        count = partial(deque, map(partial(_count_elements, d), types_of), 0)
    else:
        count = partial(deque, map(holder.append, map(list, types_of)), 0)
    lazy.run(count,
             _slice_into(sample, lazy, step),
             _listed(holder, _sturdy(sample)),
             _listed(holder, map(type, _kept(sample, _FRAGILE_IDS))),
             _listed(holder, map(_getsizeof, _kept(sample, _FRAGILE_IDS))), also=(sample,))
    sizes, types, kept = holder.pop(), holder.pop(), holder.pop()
    return (d if by_type else holder.pop()), kept, types, sizes
