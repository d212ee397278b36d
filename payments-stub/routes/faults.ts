// GET and PUT /faults: tests and drills change the faults and the capacity of
// a running stub without restarting it.
import type { Express } from 'express';
import { z } from 'zod';
import { CAPACITY_ENDPOINTS, capacityUpdateSchema, type CapacityEndpoint, type CapacitySettings } from '../capacity';
import { faultUpdateSchema, type FaultSettings } from '../faults';
import { invalidFromZod, readJsonBody, send } from '../http-json';
import type { StubState } from '../state';

// `capacity` sets endpoints by name; an endpoint left out keeps its setting, null turns its model off.
const updateSchema = faultUpdateSchema.extend({
  capacity: z.strictObject(Object.fromEntries(CAPACITY_ENDPOINTS.map((e) => [e, capacityUpdateSchema.optional()]))).optional(),
});

export interface FaultsView extends FaultSettings {
  capacity: Record<CapacityEndpoint, CapacitySettings | null>;
}

export function faultRoutes(app: Express, state: Pick<StubState, 'faults' | 'logger' | 'capacity'>): void {
  const { faults, logger, capacity } = state;
  const view = (): FaultsView => ({
    ...faults.current,
    capacity: { charges: capacity.charges.current, refunds: capacity.refunds.current },
  });

  app.get('/faults', (_req, res) => {
    res.json(view());
  });

  app.put('/faults', readJsonBody, (req, res) => {
    const parsed = updateSchema.safeParse(req.body);
    if (!parsed.success) {
      send(res, invalidFromZod(parsed.error));
      return;
    }
    const { capacity: capacityUpdate, ...faultUpdate } = parsed.data;
    faults.update(faultUpdate);
    for (const endpoint of CAPACITY_ENDPOINTS) {
      const update = capacityUpdate?.[endpoint];
      if (update !== undefined) capacity[endpoint].set(update);
    }
    logger.info({ faults: view() }, 'faults changed');
    res.json(view());
  });
}
