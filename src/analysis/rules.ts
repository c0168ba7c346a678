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
