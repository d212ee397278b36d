// The fault picked for each provider call (POST /charges, POST /refunds): what
// a caller of a real provider must survive, injected in front of the operation.
import type { Request, RequestHandler } from 'express';
import { errorBody, send, type Reply } from './http-json';
import type { StubState } from './state';

export function withFaults(
  state: Pick<StubState, 'faults' | 'counts' | 'logger'>,
  operation: (req: Request) => Promise<Reply>,
): RequestHandler {
  const { faults, counts, logger } = state;
  return async (req, res) => {
    const fault = faults.pick();
    if (fault !== 'ok') {
      counts.faults_injected++;
      logger.info({ fault, method: req.method, path: req.path }, 'fault injected');
    }
    switch (fault) {
      case 'error':
        send(res, { status: 500, body: errorBody('internal_error', 'Injected fault: internal error.') });
        return;
      case 'unavailable':
        res.set('Retry-After', '1');
        send(res, { status: 503, body: errorBody('service_unavailable', 'Injected fault: try again later.') });
        return;
      case 'hang':
        // Nothing is applied; once the hang is lifted the request is dropped, not served late.
        await faults.untilHangEnds();
        req.socket.destroy();
        return;
    }
    const reply = await operation(req);
    if (fault === 'lost_response') {
      // The work is done; only the answer is lost on the way back.
      req.socket.destroy();
      return;
    }
    send(res, reply);
  };
}
