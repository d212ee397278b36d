// Every body we accept is JSON, and says so: anything else is a 415.
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../errors';

export function requireJson(req: Request, _res: Response, next: NextFunction): void {
  if (!req.is('application/json')) {
    next(new HttpError(415, 'unsupported_media_type', 'the body must be JSON with Content-Type: application/json'));
    return;
  }
  next();
}
