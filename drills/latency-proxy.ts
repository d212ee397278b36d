// A TCP proxy on 127.0.0.1 that can make whatever passes through it slow: the
// slow-db drill puts one between the api and Postgres and turns the delay up
// mid-burst, as a database under lock contention or a congested link looks
// from the api. Every chunk, both ways, is held `delayMs` and kept in order.
import net from 'node:net';

export interface LatencyProxy {
  port: number;
  setDelayMs(ms: number): void;
  close(): Promise<void>;
}

export async function startLatencyProxy(target: { host: string; port: number }): Promise<LatencyProxy> {
  let delayMs = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(target.port, target.host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      // one side gone: the other goes too, as through a real hop
      s.on('error', () => undefined);
    }
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
    forward(inbound, outbound);
    forward(outbound, inbound);
  });

  /** Writes each chunk `delayMs` after it came, never before the one ahead of it. */
  function forward(from: net.Socket, to: net.Socket): void {
    let lastDue = 0;
    from.on('data', (chunk) => {
      const due = Math.max(Date.now() + delayMs, lastDue);
      lastDue = due;
      const write = () => {
        if (!to.destroyed) to.write(chunk);
      };
      if (due <= Date.now()) write();
      else setTimeout(write, due - Date.now());
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    setDelayMs(ms) {
      delayMs = ms;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
