// Every body we accept is JSON, and says so: anything else is a 415. Applied
// to every write, body or not, so a form or text/plain POST from a web page
// (which a browser sends cross-site without asking) never reaches a route.
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../errors';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function requireJson(req: Request, _res: Response, next: NextFunction): void {
  if (WRITES.has(req.method) && !isJson(req.header('content-type'))) {
    next(new HttpError(415, 'unsupported_media_type', 'the body must be JSON with Content-Type: application/json'));
    return;
  }
  next();
}

function isJson(contentType: string | undefined): boolean {
  return contentType?.split(';')[0]?.trim().toLowerCase() === 'application/json';
}
