// In front of every route that needs the database (all those behind a key: the
// key itself is looked up there): while the database breaker is not closed,
// 503 with Retry-After at once, before a pool connection is asked for.
import type { RequestHandler } from 'express';
import { HttpError } from '../errors';
import type { DbAdmission } from './db-guard';

export function dbGate(guard: { admit(): DbAdmission }, onRefused: () => void = () => {}): RequestHandler {
  return (_req, _res, next) => {
    const admission = guard.admit();
    if (admission.admitted) {
      next();
      return;
    }
    onRefused();
    const retryAfterS = Math.max(1, Math.ceil(admission.retryAfterMs / 1000));
    next(
      new HttpError(503, 'temporarily_unavailable', 'The database is failing or too slow; try again after Retry-After.', undefined, {
        'Retry-After': String(retryAfterS),
      }),
    );
  };
}
