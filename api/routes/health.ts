// What load balancers and orchestrators probe, with no key: liveness and
// readiness. Readiness says ready or not per dependency, never why: addresses,
// users and error texts go to the log, not to whoever asks.
import type { Client } from '@temporalio/client';
import express, { type Router } from 'express';
import type { Pool } from '../../db/pool';
import type { Logger } from '../../logger';
import { checkReadiness } from '../readiness';

export function healthRoutes(deps: { client: Client; pool: Pool; logger: Logger }): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const checks = await checkReadiness(deps.client, deps.pool);
    if (!checks.ready) deps.logger.warn({ temporal: checks.temporal, postgres: checks.postgres }, 'not ready');
    res.status(checks.ready ? 200 : 503).json({
      ready: checks.ready,
      temporal: checks.temporal === 'ok' ? 'ok' : 'unreachable',
      postgres: checks.postgres === 'ok' ? 'ok' : 'unreachable',
    });
  });
  return router;
}
