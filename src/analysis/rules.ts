// Rule catalogue: stable codes, names and where their documentation lives (README anchors).
import { RuleId } from './types';

/** Each rule is documented in README.md under "Race-risk rules", at its anchor. */
export const DOCS_FILE = 'README.md';

export interface RuleInfo {
  id: RuleId;
  /** Short kebab name (SARIF `name`). */
  name: string;
  title: string;
  /** One-paragraph explanation (SARIF fullDescription, hover). */
  description: string;
  /** README heading anchor. */
  anchor: string;
}

export const RULES: Record<RuleId, RuleInfo> = {
  WL101: {
    id: 'WL101', name: 'read-modify-write', title: 'Read-modify-write of shared state',
    description: 'Shared state is read, changed and written back without a lock; concurrent task runs, threads or coroutines interleave between the read and the write and lose updates.',
    anchor: 'wl101-read-modify-write-of-shared-state',
  },
  WL102: {
    id: 'WL102', name: 'check-then-act', title: 'Check-then-act on shared state',
    description: 'A condition on shared state is checked and then acted on without a lock; another run can change the state in between, so the work is done twice or the act fails.',
    anchor: 'wl102-check-then-act-on-shared-state',
  },
  WL103: {
    id: 'WL103', name: 'split-lock-regions', title: 'Atomicity split across lock regions',
    description: 'Shared state is read under a lock, the lock is released, and the state is written under a second acquisition; the lock does not make the read-and-write atomic.',
    anchor: 'wl103-atomicity-split-across-lock-regions',
  },
  WL104: {
    id: 'WL104', name: 'redis-get-then-set', title: 'Redis read then write of the same key',
    description: 'A Redis key (or hash field) is read and then written by the same code; other workers write in between. Use INCR/INCRBY/HINCRBY, SET NX, a Lua script, or a lock.',
    anchor: 'wl104-redis-read-then-write-of-the-same-key',
  },
  WL105: {
    id: 'WL105', name: 'orm-read-modify-save', title: 'Django ORM read-modify-save',
    description: 'A model row is read, a field changed in Python and saved back outside select_for_update() in transaction.atomic(); concurrent saves overwrite each other. Use F() expressions.',
    anchor: 'wl105-django-orm-read-modify-save',
  },
  WL106: {
    id: 'WL106', name: 'file-read-then-write', title: 'File read then written back',
    description: 'A file is read and the same path written back; concurrent workers overwrite each other. Use a file lock (fcntl.flock), an atomic rename of a per-writer temp file, or a database.',
    anchor: 'wl106-file-read-then-written-back',
  },
  WL107: {
    id: 'WL107', name: 'django-cache-get-then-set', title: 'Django cache read then write of the same key',
    description: 'A Django cache key is read (get, has_key, `in`) and then set by the same code; every worker process shares the cache, so concurrent runs lose updates or all pass a get-then-set "lock". Use cache.incr/decr for counters and cache.add (atomic: true only for the first caller) for claims and locks.',
    anchor: 'wl107-django-cache-read-then-write-of-the-same-key',
  },
  WL108: {
    id: 'WL108', name: 'orm-exists-then-create', title: 'Django ORM exists() then create()',
    description: 'A row is created after exists() said it was missing; concurrent workers all see it missing and create duplicates (or fail on the unique constraint). Use get_or_create() backed by a unique constraint on the lookup fields.',
    anchor: 'wl108-django-orm-exists-then-create',
  },
  WL109: {
    id: 'WL109', name: 'manager-proxy-race', title: 'Race on a multiprocessing Manager proxy',
    description: 'A multiprocessing Manager dict/list proxy is read and written back (or checked, then changed) in two proxy calls; every process using the proxy interleaves between them. Hold a lock from the same manager (manager.Lock()) across both, or keep the value in Redis (INCR) or the database.',
    anchor: 'wl109-race-on-a-multiprocessing-manager-proxy',
  },
  WL110: {
    id: 'WL110', name: 'task-sent-inside-transaction', title: 'Task sent inside an open transaction',
    description: 'A Celery task is sent (delay/apply_async) inside transaction.atomic(): a worker can run it before the transaction commits, see the old rows, or run it for a rollback that never happened. Send it from transaction.on_commit (or delay_on_commit, Celery 5.4+).',
    anchor: 'wl110-task-sent-inside-an-open-transaction',
  },
  WL111: {
    id: 'WL111', name: 'lock-expires-before-time-limit', title: 'Lock expires before the task time limit',
    description: 'A Redis lock (lock(timeout=…)) or a cache.add claim with a timeout shorter than the task\'s time_limit: a slow run outlives its lock and a second run enters the "exclusive" section. Make the lock timeout at least the time limit.',
    anchor: 'wl111-lock-expires-before-the-task-time-limit',
  },
  WL112: {
    id: 'WL112', name: 'visibility-timeout-shorter-than-task', title: 'Broker visibility timeout shorter than a task',
    description: 'The broker\'s visibility_timeout (Redis, SQS) is shorter than a task\'s time_limit or countdown/ETA: the broker redelivers the unacknowledged message to another worker while the first still holds it, and the task runs twice. Raise visibility_timeout above the longest time limit and ETA.',
    anchor: 'wl112-broker-visibility-timeout-shorter-than-a-task',
  },
  WL113: {
    id: 'WL113', name: 'import-time-resource-before-fork', title: 'Thread or client created at import time, before the prefork fork',
    description: 'A module the Celery worker imports before forking its prefork children starts a thread or opens a client at import time: children do not inherit the thread, and they share the parent\'s connection socket. Create them per process, in a worker_process_init handler or lazily on first use.',
    anchor: 'wl113-thread-or-client-created-at-import-time-before-the-prefork-fork',
  },
};

export const RULE_IDS = Object.keys(RULES) as RuleId[];

/**
 * Link to a rule's documentation: `base` is where README.md is (the editor passes the installed
 * extension's README URI, the CLI the README beside its bundle); without one, a path relative to
 * the Worker Lens installation.
 */
export function ruleHelpUri(id: RuleId, base: string = DOCS_FILE): string {
  return `${base}#${RULES[id].anchor}`;
}
