import net from 'node:net';

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A TCP port free on 127.0.0.1 right now, below 32768: Temporal's server keeps
 * its members' ports in a smallint column (cluster_membership.rpc_port), and the
 * kernel's own free ports are 32768 and up. Tried at random from 10000.
 */
export async function freePortBelow32768(): Promise<number> {
  for (let tries = 0; tries < 200; tries += 1) {
    const port = 10_000 + Math.floor(Math.random() * 22_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below 32768 after 200 tries');
}
