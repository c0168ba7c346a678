// chrome-remote-interface's client class (CDP() without its promise wrapper): constructing it
// ourselves keeps a handle on the pending connection, so a handshake that never completes can be
// torn down (CDP() itself offers no timeout and no way to cancel).
declare module 'chrome-remote-interface/lib/chrome.js' {
  import type { EventEmitter } from 'node:events';
  class Chrome extends EventEmitter {
    constructor(options: { target: string; protocol: unknown }, notifier: EventEmitter);
    /** ws's WebSocket, set once the URL is known; terminate() aborts a pending handshake. */
    _ws?: { terminate(): void };
    close(): Promise<void>;
  }
  export = Chrome;
}
