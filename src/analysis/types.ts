// Plain data shared by the analysis, the language server and the CLI (0-based lines, UTF-16 columns, like LSP).

export interface Position { line: number; character: number }
export interface Range { start: Position; end: Position }

export type RuleId = 'WL101' | 'WL102' | 'WL103' | 'WL104' | 'WL105' | 'WL106'
  | 'WL107' | 'WL108' | 'WL109' | 'WL110' | 'WL111' | 'WL112' | 'WL113';

/**
 * How the flagged code runs concurrently; decides what the message says. 'process': no
 * concurrent caller is known, but stores every process shares (Redis, Django cache) still race.
 */
export type ContextKind = 'celery' | 'thread' | 'async' | 'process';

export interface Related { range: Range; message: string }

export interface TextEdit { range: Range; newText: string }

export interface QuickFix {
  title: string;
  edits: TextEdit[];
  /** The fix VS Code applies with Ctrl+. Enter (at most one per finding). */
  preferred?: boolean;
  /**
   * Who the fix excludes: 'process' = threads/coroutines of one process (threading/asyncio lock);
   * 'shared' = every process (Redis, the database, a manager lock). Orders fixes by the pool.
   */
  scope?: 'process' | 'shared';
}

export interface Finding {
  rule: RuleId;
  message: string;
  /** The write / act. */
  range: Range;
  /** The read / check the write depends on. */
  related: Related[];
  /** Display name of the shared state, e.g. `processed_count`, `_price_cache[sku]`. */
  state: string;
  /** Qualified name of the function holding the write, e.g. `count_order`, `Cache.put`. */
  functionName: string;
  fixes: QuickFix[];
  /** For task code: the workspace's Celery pool and where it was read (hover), when known. */
  pool?: string;
}
