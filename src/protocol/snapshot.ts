// How the Python agent lays out a V8 `.heapsnapshot`, so that src/model reads Python heaps with the
// same code as V8 heaps and renders retainer paths like code. The agent writes; the model reads.
//
// Nodes
//   - node 0: type `synthetic`, name "" (the root).
//   - root --element--> synthetic group nodes, in this order: "(modules)", "(threads)", "(gc roots)".
//   - "(modules)" --property "<sys.modules key>"--> the module object (type `object`, name "module").
//     A module's globals are `property` edges from the module node named by the global's name
//     (the module's __dict__ is collapsed into the module node).
//   - "(threads)" --property "<thread name>"--> one synthetic node per thread, name "thread <name>";
//     it --element i--> that thread's frames (name "frame <function>"), innermost first; a frame's
//     locals are `context` edges named by the local's name.
//   - "(gc roots)" --element--> gc-tracked objects that nothing else in the graph refers to (held
//     only from C), so that every node is reachable from the root.
//   - A Python object: type `object` (instances, dicts, lists, sets, tuples, functions, classes),
//     `string` (str, bytes), `number` (int, float, bool), `code` (code objects), `closure`
//     (functions may use this), `native` (other C objects). Never `array` (DevTools folds array
//     sizes into owners). Name = the type's __qualname__ ("Payload", "dict", "list"); a class
//     object's name is "class <qualname>"; a str's name is its
//     value truncated to 100 chars (computed without calling user code).
//   - Ids: odd, monotonic, stable for the same object across snapshots of the same process.
//   - self_size: the object's shallow size (type's tp_basicsize/itemsize arithmetic), no user code.
//
// Edges
//   - instance attribute: `property` named by the attribute ("order_id"); the instance's __dict__
//     itself hangs off the instance by an `internal` edge "__dict__" and its entries are not repeated.
//   - dict entry: `property` named by a code-like key: `['user-9']` for str keys, `[42]` for int
//     keys, `[<tuple>]` / `[<KeyType>]` for others (str/int/float/bool/None/bytes keys rendered
//     with their builtin repr, capped at 60 chars). Names beginning with "[" are subscripts.
//   - list/tuple item: `element` with the index. set/frozenset item: `element` with a running index.
//   - anything else gc.get_referents reports: `internal` named by the C slot when known
//     ("__class__", "__closure__", "__globals__", "__code__", "__bases__", "__mro__", "__dict__"),
//     else "<internal>"; weakref referents: `weak`.
//
// Rendering (src/model): labels root first; a path label list is the edge names from the first
// named root: ["tasks", "leaky_storage", "[17]"] reads `tasks.leaky_storage[17]`; a name starting
// with "[" is appended as is, an element index i renders "[i]", any other name as ".name".

export const PYTHON_ROOT_GROUPS = ['(modules)', '(threads)', '(gc roots)'] as const;

/** True when an edge name is already a subscript (`['user-9']`, `[42]`) and is appended without a dot. */
export function isSubscriptName(name: string): boolean {
  return name.startsWith('[');
}
