// What operators and load balancers probe: liveness, readiness and metrics.
import type { Client } from '@temporalio/client';
import express, { type Router } from 'express';
import type { Pool } from '../../db/pool';
import type { ApiMetrics } from '../metrics';
import { checkReadiness } from '../readiness';

export function healthRoutes(deps: { client: Client; pool: Pool; metrics: ApiMetrics }): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const checks = await checkReadiness(deps.client, deps.pool);
    res.status(checks.ready ? 200 : 503).json(checks);
  });

  router.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return router;
}
