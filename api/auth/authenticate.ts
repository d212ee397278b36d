// Every route but health and documentation needs a key. This middleware finds
// the caller (accounts/authenticate.ts) and keeps it on res.locals; the
// helpers below are how a route asks who is calling and what it may do.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { authenticate, type Caller } from '../../accounts/authenticate';
import type { Pool } from '../../db/pool';
import { HttpError } from '../../errors';
import { withinDependencyBudget } from '../deadline';
import type { FailureThrottle } from './failure-throttle';

export interface AuthDeps {
  pool: Pool;
  pepper: string;
  throttle: FailureThrottle;
}

const REFUSALS = {
  missing: ['api_key_missing', 'no API key: send Authorization: Bearer sk_...'],
  invalid: ['api_key_invalid', 'the API key is not valid'],
  revoked: ['api_key_revoked', 'the API key has been revoked'],
  expired: ['api_key_expired', 'the API key has expired'],
} as const;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function authenticateRequests(deps: AuthDeps): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const waitMs = deps.throttle.retryAfterMs(address);
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      next(
        new HttpError(429, 'too_many_failed_authentications', `too many failed authentications; retry after ${seconds} s`, undefined, {
          'Retry-After': String(seconds),
        }),
      );
      return;
    }
    const result = await withinDependencyBudget(authenticate(deps.pool, req.header('authorization'), deps.pepper), 'the API key lookup');
    if (!result.ok) {
      // a key that was presented and refused costs a lookup and may be a guess;
      // no key at all is a client that forgot it, and costs nothing
      if (result.reason !== 'missing') deps.throttle.recordFailure(address);
      const [code, message] = REFUSALS[result.reason];
      const error = result.reason === 'missing' ? '' : ', error="invalid_token"';
      next(new HttpError(401, code, message, undefined, { 'WWW-Authenticate': `Bearer realm="checkout"${error}` }));
      return;
    }
    res.locals.caller = result.caller;
    if (result.caller.kind === 'restricted' && !SAFE_METHODS.has(req.method)) {
      next(new HttpError(403, 'api_key_read_only', 'this restricted key may only read; use a secret key to make changes'));
      return;
    }
    next();
  };
}

export function callerOf(res: Response): Caller {
  const caller = res.locals.caller as Caller | undefined;
  if (!caller) throw new Error('route reached without authentication');
  return caller;
}

/** The merchant a merchant route acts for; an admin key reaches operator routes only. */
export function merchantOf(res: Response): string {
  const { merchantId } = callerOf(res);
  if (merchantId === null) throw new HttpError(403, 'merchant_key_required', "this route acts for a merchant: use that merchant's key, not an admin key");
  return merchantId;
}

/** Operator routes: admin keys only. */
export function requireAdmin(_req: Request, res: Response, next: NextFunction): void {
  if (callerOf(res).kind !== 'admin') {
    next(new HttpError(403, 'admin_key_required', 'this is an operator route: it needs an admin key'));
    return;
  }
  next();
}
