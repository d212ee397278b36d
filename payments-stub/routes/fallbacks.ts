// Registered last: an unknown route and any error still get the stub's JSON
// error shape, never Express's HTML page.
import type { Express, NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { errorBody, invalidRequest, send } from '../http-json';

export function fallbackRoutes(app: Express, logger: Logger): void {
  app.use((req, res) => {
    send(res, { status: 404, body: errorBody('not_found', `No route for ${req.method} ${req.path}`) });
  });

  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const type = errorField(err, 'type');
    if (type === 'entity.parse.failed') {
      send(res, invalidRequest('the body is not valid JSON'));
      return;
    }
    // Body-parser's own 4xx (too large, bad charset) keep their status and message.
    const status = errorField(err, 'status');
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const message = err instanceof Error ? err.message : 'bad request';
      send(res, { status, body: errorBody('invalid_request', message) });
      return;
    }
    logger.error({ err }, 'unexpected error');
    send(res, { status: 500, body: errorBody('internal_error', 'Unexpected error in the stub.') });
  });
}

function errorField(err: unknown, name: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[name] : undefined;
}
