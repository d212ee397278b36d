// Load shedding: past `max` checkouts in flight on this instance, answer 503
// at once, before touching Postgres or Temporal. The route puts it after the
// body is read: a checkout counts once its body is in, so clients that trickle
// their bodies cannot hold every slot (the server's API_REQUEST_TIMEOUT_MS cuts
// them); reading a body of at most 16 KiB costs little.
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../errors';

export function shedOverLimit(max: number | undefined) {
  let inFlight = 0;
  return (_req: Request, res: Response, next: NextFunction): void => {
    if (max === undefined) {
      next();
      return;
    }
    if (inFlight >= max) {
      next(
        new HttpError(503, 'overloaded', 'too many checkouts in progress; retry shortly with the same Idempotency-Key', undefined, {
          'Retry-After': '1',
        }),
      );
      return;
    }
    inFlight += 1;
    let released = false;
    // 'close' comes once the answer is sent, or when the client goes away first
    res.once('close', () => {
      if (released) return;
      released = true;
      inFlight -= 1;
    });
    next();
  };
}
