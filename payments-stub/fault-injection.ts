// What a caller of a real provider must survive, in front of each provider
// operation (POST /charges, POST /refunds): first the endpoint's capacity (a
// slot, a wait in its queue, or shed), then the fault picked for the request,
// both holding the slot as long as they last.
import type { Request, RequestHandler } from 'express';
import { inService, type CapacityEndpoint } from './capacity';
import type { FaultMode } from './faults';
import { errorBody, send, type Reply } from './http-json';
import type { StubState } from './state';

export function withFaults(
  state: Pick<StubState, 'faults' | 'counts' | 'logger' | 'capacity'>,
  endpoint: CapacityEndpoint,
  operation: (req: Request) => Promise<Reply>,
): RequestHandler {
  const { faults, counts, logger } = state;
  const gate = state.capacity[endpoint];
  return async (req, res) => {
    const admission = await gate.enter();
    if (!admission.admitted) {
      res.set('Retry-After', '1');
      send(res, { status: 503, body: errorBody('overloaded', 'The provider is over capacity: try again later.') });
      return;
    }
    try {
      const { fault, reply } = await inService(admission.serviceMs, () => faulted(req));
      // a caller gone before a good answer: capacity spent on nobody
      gate.served(fault !== 'ok' ? 'faulted' : req.socket.destroyed || res.destroyed ? 'abandoned' : 'answered');
      if (reply) send(res, reply);
    } finally {
      admission.release();
    }
  };

  /** The fault picked and the answer to send, none when the fault drops the connection. */
  async function faulted(req: Request): Promise<{ fault: FaultMode; reply?: Reply }> {
    const fault = faults.pick();
    if (fault !== 'ok') {
      counts.faults_injected++;
      logger.info({ fault, method: req.method, path: req.path }, 'fault injected');
    }
    switch (fault) {
      case 'error':
        return { fault, reply: { status: 500, body: errorBody('internal_error', 'Injected fault: internal error.') } };
      case 'unavailable':
        return {
          fault,
          reply: { status: 503, body: errorBody('service_unavailable', 'Injected fault: try again later.'), headers: { 'Retry-After': '1' } },
        };
      case 'hang':
        // Nothing is applied; once the hang is lifted the request is dropped, not served late.
        await faults.untilHangEnds();
        req.socket.destroy();
        return { fault };
    }
    const reply = await operation(req);
    if (fault === 'lost_response') {
      // The work is done; only the answer is lost on the way back.
      req.socket.destroy();
      return { fault };
    }
    return { fault, reply };
  }
}
