/**
 * A process that ends a connection with `resetSocket` in the same turn as its own `end()`
 * (what the test's TCP proxy does when a server's FIN and a reset of the link come together),
 * then closes everything and must exit by itself: see test/tcpProxy.test.ts.
 */
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { resetSocket } from './tcpProxy';

async function main(): Promise<void> {
  const server = createServer((socket) => socket.on('error', () => {}).resume());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  client.on('error', () => {});
  await once(client, 'connect');
  client.end();
  resetSocket(client);
  await once(client, 'close');
  server.close();
  console.log('closed');
}

void main();
