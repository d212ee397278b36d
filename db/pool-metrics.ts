// A process's Postgres pool as Prometheus gauges, read from the pool at
// scrape time: a pool with every connection in use and clients waiting is
// where a slow database turns into slow checkouts.
import client from 'prom-client';
import type { Pool } from './pool';

export function registerPoolMetrics(registry: client.Registry, pool: Pool): void {
  new client.Gauge({
    name: 'db_pool_connections',
    help: "This process's Postgres pool connections: in_use (checked out) or idle",
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
      this.set({ state: 'idle' }, pool.idleCount);
    },
  });
  new client.Gauge({
    name: 'db_pool_waiting_clients',
    help: "Queries waiting for a connection from this process's pool (all in use)",
    registers: [registry],
    collect() {
      this.set(pool.waitingCount);
    },
  });
  new client.Gauge({
    name: 'db_pool_max_connections',
    help: "The size of this process's pool (DATABASE_POOL_SIZE)",
    registers: [registry],
    collect() {
      this.set(pool.options.max);
    },
  });
}
