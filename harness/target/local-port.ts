import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on 127.0.0.1 at a port the kernel picks; returns the port. */
export async function listenLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A loopback port free right now (for a program that must be told its port). */
export async function freeLoopbackPort(): Promise<number> {
  const s = createServer();
  const port = await listenLoopback(s);
  await new Promise((r) => s.close(r));
  return port;
}
