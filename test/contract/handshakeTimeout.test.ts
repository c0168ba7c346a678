// Issue 14 leftover: a server that accepts TCP and never answers the WebSocket upgrade (a stopped
// worker, an agent blocked by a C call holding the GIL, a port that is not CDP) must not hang an
// attach, and the half-open socket must not stay behind. A real TCP server on loopback that
// accepts and stays silent; the real chrome-remote-interface connector, CdpClient and connectWorker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connectChromeRemoteInterface } from '../../src/cdp/criTransport';
import { CdpClient } from '../../src/cdp/client';
import { CdpError } from '../../src/cdp/errors';
import { connectWorker, AttachError } from '../../src/cdp/workerConnection';

let server: net.Server;
let port = 0;
const sockets = new Set<net.Socket>();
/** Resolves when the next accepted socket is closed (by us: the server never closes one). */
let nextClosed: Promise<void> = Promise.resolve();
let armClosed: (p: Promise<void>) => void = () => undefined;

before(async () => {
  server = net.createServer(s => {
    sockets.add(s);
    s.on('data', () => undefined); // read the upgrade request, never answer it
    armClosed(new Promise(resolve => s.once('close', () => { sockets.delete(s); resolve(); })));
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});
after(() => {
  for (const s of sockets) s.destroy();
  server.close();
});

/** The close of the socket accepted next. */
function closeOfNextSocket(): Promise<void> {
  nextClosed = new Promise<void>(resolve => { armClosed = p => { armClosed = () => undefined; void p.then(resolve); }; });
  return nextClosed;
}

/** The socket's close, or a failure: a socket still open 3 s after the error was left behind. */
function closedSoon(p: Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the half-open socket was left open after the attach gave up')), 3000);
    void p.then(() => { clearTimeout(t); resolve(); });
  });
}

const endpoint = () => ({ webSocketUrl: `ws://127.0.0.1:${port}/token`, label: `127.0.0.1:${port}` });

test('the connector gives up after its handshake timeout, says why, and closes the socket', async () => {
  const closed = closeOfNextSocket();
  const t0 = Date.now();
  await assert.rejects(connectChromeRemoteInterface(endpoint(), new AbortController().signal, 300),
    /no answer to the WebSocket handshake within 0\.3 s: the endpoint accepted the connection but did not answer/);
  assert.ok(Date.now() - t0 < 5000, 'bounded');
  await closedSoon(closed); // the server saw our side go away: nothing left half-open
  assert.equal(sockets.size, 0);
});

test('an abort during the handshake closes the socket too', async () => {
  const closed = closeOfNextSocket();
  const ac = new AbortController();
  const p = connectChromeRemoteInterface(endpoint(), ac.signal, 60_000);
  setTimeout(() => ac.abort(new Error('stop')), 200);
  await assert.rejects(p, /stop/);
  await closedSoon(closed);
});

test('CdpClient.connect: one CdpError naming the endpoint and the silent handshake', async () => {
  const closed = closeOfNextSocket();
  await assert.rejects(CdpClient.connect({ worker: 'pid 4242 (ForkPoolWorker-1)', locate: async () => endpoint(), connectTimeoutMs: 500, reconnectDelaysMs: false }),
    (e: unknown) => e instanceof CdpError && e.kind === 'connect'
      && new RegExp(`cannot connect to pid 4242 \\(ForkPoolWorker-1\\) at ws://127\\.0\\.0\\.1:${port}/…: no answer to the WebSocket handshake within 500 ms`).test(e.message));
  await closedSoon(closed);
});

test('connectWorker (the UI and CLI attach) to a silent endpoint fails within the connect timeout', async () => {
  const closed = closeOfNextSocket();
  const t0 = Date.now();
  await assert.rejects(connectWorker({ connect: `ws://127.0.0.1:${port}/token` }, { injection: { allowed: false, refusedHint: '' }, activation: { allowed: false }, reconnect: false }),
    (e: unknown) => (e instanceof CdpError || e instanceof AttachError) && /no answer to the WebSocket handshake within 5 s/.test((e as Error).message));
  assert.ok(Date.now() - t0 < 15_000, 'bounded');
  await closedSoon(closed);
});
