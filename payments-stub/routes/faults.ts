// GET and PUT /faults: tests and drills change the faults of a running stub
// without restarting it.
import type { Express } from 'express';
import { faultUpdateSchema } from '../faults';
import { invalidFromZod, readJsonBody, send } from '../http-json';
import type { StubState } from '../state';

export function faultRoutes(app: Express, state: Pick<StubState, 'faults' | 'logger'>): void {
  const { faults, logger } = state;

  app.get('/faults', (_req, res) => {
    res.json(faults.current);
  });

  app.put('/faults', readJsonBody, (req, res) => {
    const parsed = faultUpdateSchema.safeParse(req.body);
    if (!parsed.success) {
      send(res, invalidFromZod(parsed.error));
      return;
    }
    const settings = faults.update(parsed.data);
    logger.info({ faults: settings }, 'faults changed');
    res.json(settings);
  });
}
