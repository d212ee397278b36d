// Text from a request that the api stores or looks up must be text Postgres can
// hold and an id can be: no NUL (Postgres refuses it: a 500 until this), no other
// control character, no unpaired surrogate. A path that does not decode is not
// ours to route. Each is a 400 naming the field, before any route runs.
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../errors';

export const UNSTORABLE_TEXT_MESSAGE = 'must not contain control characters (such as NUL) or unpaired surrogates';

/** True when the text has no control character and no unpaired surrogate. */
export function isStorableText(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false; // C0 controls (NUL among them) and DEL
    if (c >= 0xdc00 && c <= 0xdfff) return false; // a low surrogate with no high one before it
    if (c >= 0xd800 && c <= 0xdbff) {
      const low = text.charCodeAt(i + 1); // NaN past the end
      if (!(low >= 0xdc00 && low <= 0xdfff)) return false;
      i += 1;
    }
  }
  return true;
}

/** The id a path segment carries, by the collection before it: /payments/{payment_id}, ... */
const PATH_PARAMS: Record<string, string> = {
  payments: 'payment_id',
  'webhook-endpoints': 'endpoint_id',
  'webhook-deliveries': 'delivery_id',
};

const shown = (raw: string) => (raw.length > 80 ? `${raw.slice(0, 80)}...` : raw);

/**
 * Every path segment must be percent-encoded UTF-8 that decodes to storable
 * text (400 invalid_path, field: the segment's id or "path"); every query value
 * must be storable text (400 invalid_request, field: the query name).
 */
export function rejectUnstorableUrlText(req: Request, _res: Response, next: NextFunction): void {
  const segments = req.path.split('/');
  for (let i = 1; i < segments.length; i += 1) {
    const raw = segments[i] as string;
    if (!raw.includes('%') && isStorableText(raw)) continue;
    let decoded: string | undefined;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      decoded = undefined;
    }
    if (decoded !== undefined && isStorableText(decoded)) continue;
    const field = (i === 2 ? PATH_PARAMS[segments[1] as string] : undefined) ?? 'path';
    const why = decoded === undefined ? 'is not valid percent-encoded UTF-8' : `decodes to text that ${UNSTORABLE_TEXT_MESSAGE.replace('must not contain', 'contains')}`;
    next(new HttpError(400, 'invalid_path', `the path segment "${shown(raw)}" ${why}`, field));
    return;
  }
  for (const [name, value] of Object.entries(req.query as Record<string, unknown>)) {
    const values = Array.isArray(value) ? value : [value];
    if (values.some((v) => typeof v === 'string' && !isStorableText(v))) {
      next(new HttpError(400, 'invalid_request', `query parameter ${shown(name)} ${UNSTORABLE_TEXT_MESSAGE}`, name));
      return;
    }
  }
  next();
}
