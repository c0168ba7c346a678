import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { parseProcNetTcp, portHolder, processSockets } from '../../../src/cdp/procNet';

test('parses /proc/net/tcp rows: ports, LISTEN / ESTABLISHED, inode', () => {
  const text = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:2405 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 100 0 0 10 0',
    '   1: 0100007F:9C40 0100007F:1B59 01 00000000:00000000 00:00000000 00000000     0        0 123457 1 0000000000000000 20 4 30 10 -1',
  ].join('\n');
  assert.deepEqual(parseProcNetTcp(text), [
    { inode: 123456, localPort: 9221, remotePort: 0, listening: true, established: false },
    { inode: 123457, localPort: 40000, remotePort: 7001, listening: false, established: true },
  ]);
});

test('a real listening socket of this process is found, and so is its holder', async () => {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise(r => server.once('listening', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const mine = await processSockets(process.pid);
    assert.ok(mine.some(s => s.listening && s.localPort === port));
    assert.equal(await portHolder(port), process.pid);
  } finally {
    server.close();
  }
});
