"""Reading types and sizes without ever running user code.

Every lookup goes through the C descriptors of `type` itself, so a metaclass or class that overrides
__getattribute__, __getattr__, __class__, __sizeof__, __repr__, __eq__ or __hash__ is never called.
"""
import sys
import types

_type_dict = type.__dict__
qualname_of = _type_dict["__qualname__"].__get__
mro_of = _type_dict["__mro__"].__get__
flags_of = _type_dict["__flags__"].__get__
basicsize_of = _type_dict["__basicsize__"].__get__
itemsize_of = _type_dict["__itemsize__"].__get__
typedict_of = _type_dict["__dict__"].__get__  # a mappingproxy of the class's own namespace
_module_get = _type_dict["__module__"].__get__

HEAPTYPE = 1 << 9
_C_CALLABLES = (types.MethodDescriptorType, types.WrapperDescriptorType, types.BuiltinFunctionType,
                getattr(types, "ClassMethodDescriptorType", types.MethodDescriptorType))
_getsizeof = sys.getsizeof


def module_of(t):
    try:
        m = _module_get(t)
    except Exception:
        return "?"
    return m if type(m) is str else "?"


def qualname(t):
    try:
        q = qualname_of(t)
    except Exception:
        return "?"
    return q if type(q) is str else "?"


def own_attr(t, name):
    """The first definition of `name` along t's MRO, read from the class dicts (no descriptors run)."""
    for klass in mro_of(t) or ():
        d = typedict_of(klass)
        if name in d:  # mappingproxy over a dict of str keys: C comparisons only
            return d[name]
    return None


def sizeof_is_c(t):
    """True when sys.getsizeof(o) for instances of t runs only C code that accepts them.

    A C __sizeof__ borrowed from an unrelated type (`__sizeof__ = dict.__sizeof__` on a list
    subclass) is C but raises TypeError: its __objclass__ must be on t's own MRO."""
    try:
        impl = own_attr(t, "__sizeof__")
        ti = type(impl)
        if ti not in _C_CALLABLES:
            return False
        if ti is types.BuiltinFunctionType:
            return False  # a bound C function (e.g. len) in the class dict: no __objclass__ to check
        owner = _objclass_of(impl)
        return any(m is owner for m in mro_of(t) or ())
    except Exception:
        return False


def _objclass_of(descr):
    for klass in (types.MethodDescriptorType, types.WrapperDescriptorType):
        if type(descr) is klass:
            return klass.__dict__["__objclass__"].__get__(descr)
    return None


def hashes_by_identity(meta):
    """True when hashing/comparing instances of `meta` (a metaclass) runs only type's own C slots:
    the first __hash__ and __eq__ along its MRO (mixins included) belong to `type` or `object`."""
    for name in ("__hash__", "__eq__"):
        for klass in mro_of(meta) or ():
            if name in typedict_of(klass):
                if klass is not type and klass is not object:
                    return False
                break
    return True


# Py_TPFLAGS_MANAGED_DICT (3.11+) and Py_TPFLAGS_MANAGED_WEAKREF (3.12+): such instances carry a
# two-pointer pre-header before the GC header, which sys.getsizeof counts.
if sys.version_info >= (3, 12):
    _PREHEADER_FLAGS = (1 << 4) | (1 << 3)
elif sys.version_info >= (3, 11):
    _PREHEADER_FLAGS = 1 << 4
else:
    _PREHEADER_FLAGS = 0
_PTR = 8 if sys.maxsize > 2 ** 32 else 4


def fixed_size(t):
    """What sys.getsizeof answers for an instance of a fixed-size type: tp_basicsize + GC header
    (2 pointers) + the managed dict/weakref pre-header (2 pointers, 3.11+). The one definition of a
    shallow size, shared by the live counts and snapshots: the object's own block, not its __dict__."""
    f = flags_of(t)
    return basicsize_of(t) + (2 * _PTR if f & (1 << 14) else 0) + (2 * _PTR if f & _PREHEADER_FLAGS else 0)


def uses_object_sizeof(t):
    """True when t's __sizeof__ is object's own (basicsize arithmetic, the same for every instance)."""
    try:
        return own_attr(t, "__sizeof__") is _object_sizeof
    except Exception:
        return False


_object_sizeof = object.__dict__["__sizeof__"]


class SizeOf(object):
    """Shallow sizes: sys.getsizeof when the type's __sizeof__ is C, else tp_basicsize arithmetic."""

    def __init__(self):
        self._by_type = {}  # id(type) -> (type, fn); the type is kept so the id cannot be reused

    def fn_for(self, t):
        entry = self._by_type.get(id(t))
        if entry is not None and entry[0] is t:
            return entry[1]
        if sizeof_is_c(t):
            fn = _getsizeof
        else:
            try:
                fixed = fixed_size(t)
            except Exception:
                fixed = 16

            def fn(_o, _fixed=fixed):
                return _fixed
        self._by_type[id(t)] = (t, fn)
        return fn

    def __call__(self, o):
        try:
            return self.fn_for(type(o))(o)
        except Exception:
            return 0
