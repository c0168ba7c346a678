import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { splitTemplate, Tunnel, TunnelError, tunnelArgv } from '../../../src/cdp/tunnel';

test('templates split like a shell, placeholders filled inside words, never through a shell', () => {
  assert.deepEqual(splitTemplate(`ssh -N -L {localPort}:127.0.0.1:{port} {host}`), ['ssh', '-N', '-L', '{localPort}:127.0.0.1:{port}', '{host}']);
  assert.deepEqual(splitTemplate(`a 'b c' "d \\"e\\"" f\\ g`), ['a', 'b c', 'd "e"', 'f g']);
  assert.deepEqual(tunnelArgv('kubectl port-forward pod/{host} {localPort}:{port}', { host: 'api-7d9', port: 4242, localPort: 5000 }), ['kubectl', 'port-forward', 'pod/api-7d9', '5000:4242']);
  assert.throws(() => splitTemplate(`ssh 'x`), TunnelError);
  // host names come from broker replies: anything that is not a plain host name is refused
  for (const host of ['x; rm -rf /', '-oProxyCommand=evil', '$(id)', '']) assert.throws(() => tunnelArgv('ssh {host}', { host, port: 1, localPort: 2 }), /not a host name/);
});

// bounded: a forwarder that never answers must fail the test, not hang the run (seen once under load)
test('a tunnel that exits early reports its stderr; one that works is closed with its process group', { timeout: 60000 }, async () => {
  await assert.rejects(Tunnel.open(`sh -c 'echo denied for $0 >&2; exit 5' {host}`, { host: 'h1', port: 1 }), /exited \(5\) before 127\.0\.0\.1:\d+ opened: denied for h1/);
  await assert.rejects(Tunnel.open('/nonexistent/tunnel {host}', { host: 'h1', port: 1 }), /cannot run the tunnel command|exited/);
  const target = net.createServer(s => s.end('hello')).listen(0, '127.0.0.1');
  await new Promise(r => target.once('listening', r));
  const port = (target.address() as net.AddressInfo).port;
  // node as the forwarder: listens on {localPort}, pipes to 127.0.0.1:{port}
  const fwd = `${process.execPath} -e "const n=require('net');n.createServer(c=>c.pipe(n.connect(+process.argv[2],'127.0.0.1')).pipe(c)).listen(+process.argv[1],'127.0.0.1')" {localPort} {port}`;
  const t = await Tunnel.open(fwd, { host: 'local', port });
  const got = await new Promise<string>(resolve => { let d = ''; net.connect(t.localPort, '127.0.0.1').on('data', x => { d += String(x); }).on('end', () => resolve(d)); });
  assert.equal(got, 'hello');
  t.close();
  await new Promise(r => setTimeout(r, 500));
  assert.ok(t.exited, 'the tunnel process is gone after close');
  target.close();
});
