// The one seam between Worker Lens and a CDP connection: the chrome-remote-interface adapter
// (criTransport.ts) is the real implementation, FakeTransport (fakeTransport.ts) the test double.

export type Unsubscribe = () => void;

/** Where a worker's CDP endpoint is, and how errors name it. */
export interface CdpEndpoint {
  /** ws://host:port/path (the agent's path is /<token>). */
  webSocketUrl: string;
  /** Human name for messages: "pid 4242 (ForkPoolWorker-1)", "127.0.0.1:9229". */
  label: string;
}

/** A CDP error response ({code, message}) from the other side. */
export interface CdpResponseError {
  code: number;
  message: string;
  data?: string;
}

/** Thrown by CdpTransport.send for an error response (the connection itself is fine). */
export class CdpProtocolError extends Error {
  constructor(readonly response: CdpResponseError) {
    super(response.message);
  }
}

export interface CdpTransport {
  /** Sends one command. Resolves with its result; rejects with CdpProtocolError for an error response, or Error when the connection fails. */
  send(method: string, params?: object): Promise<unknown>;
  /** Every event the endpoint sends. */
  onEvent(listener: (method: string, params: unknown) => void): Unsubscribe;
  /** The connection ended by the other side (the worker exited, restarted or dropped us). Not fired by close(). */
  onClose(listener: (reason: string) => void): Unsubscribe;
  /** Closes the connection; idempotent. */
  close(): Promise<void>;
}

/** Opens a transport to an endpoint. Must give up (and leave nothing open) when the signal aborts. */
export type Connector = (endpoint: CdpEndpoint, signal: AbortSignal) => Promise<CdpTransport>;
