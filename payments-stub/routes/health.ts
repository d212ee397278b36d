// GET /healthz: start scripts and compose wait on it before sending traffic.
import type { Express } from 'express';

export function healthRoutes(app: Express): void {
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
}
