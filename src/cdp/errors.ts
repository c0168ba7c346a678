// Errors from a CDP call name the method, the worker and what to do next, in one line.

export type CdpErrorKind =
  | 'timeout'       // no answer within the call's timeout
  | 'cancelled'     // the caller's AbortSignal fired
  | 'disconnected'  // the connection dropped while the call was pending (worker exited or restarted)
  | 'closed'        // the client was disposed or gave up reconnecting
  | 'protocol'      // the worker answered with a CDP error (unknown method, bad params, internal error)
  | 'connect';      // could not open the connection at all

export class CdpError extends Error {
  override name = 'CdpError';
  constructor(
    readonly kind: CdpErrorKind,
    /** CDP method, e.g. "Python.getObjectCounts" ("connect" for connection attempts). */
    readonly method: string,
    /** The worker's label, e.g. "pid 4242 (ForkPoolWorker-1)". */
    readonly worker: string,
    message: string,
    /** CDP error code for kind 'protocol'. */
    readonly code?: number,
  ) {
    super(message);
  }
}

export function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
