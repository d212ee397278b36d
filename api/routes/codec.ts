// POST /codec/decode and /codec/encode: the remote codec the Temporal Web UI
// and CLI call to show an operator the payloads the workers encrypted
// (temporal/payload-codec.ts). The body is the codec server protocol's,
// payloads in proto3 JSON: {payloads: [{metadata: {name: base64}, data: base64}]}.
// Operator routes: payloads hold customers' data, so admin keys only. The
// UI calls from the browser: CORS answers the configured UI origins
// (CODEC_CORS_ORIGINS) and no other, and the preflight needs no key.
import express, { Router, type Request, type Response } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { HttpError } from '../../errors';
import { requireAdmin } from '../auth/authenticate';

const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');

/** The protocol's body, both ways (its payloads' metadata and data in base64). */
export const codecPayloadsSchema = z
  .object({
    payloads: z.array(z.object({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() }).strict()).max(1_000),
  })
  .strict();

type JsonPayloads = z.infer<typeof codecPayloadsSchema>;

export const CODEC_PATHS = ['/codec/decode', '/codec/encode'] as const;

/** A history's payloads come in one call: more than a checkout's 16 KiB. */
const MAX_CODEC_BODY_BYTES = 1024 * 1024;

/** Mounted before authentication: the preflight, and the CORS headers on every /codec answer (a 401 included, so the UI can read it). */
export function codecCors(origins: readonly string[]): Router {
  const allowed = new Set(origins);
  const router = Router();
  router.use('/codec', (req, res, next) => {
    const origin = req.header('origin');
    res.vary('Origin');
    if (origin !== undefined && allowed.has(origin)) res.setHeader('Access-Control-Allow-Origin', origin);
    next();
  });
  for (const path of CODEC_PATHS) {
    router.options(path, (req: Request, res: Response) => {
      const origin = req.header('origin');
      if (origin === undefined || !allowed.has(origin)) {
        throw new HttpError(403, 'origin_not_allowed', 'this origin may not call the codec (CODEC_CORS_ORIGINS)');
      }
      res.setHeader('Access-Control-Allow-Methods', 'POST');
      // what the Web UI sends: its JSON, the namespace, and the key when told to pass one
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Namespace');
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
    });
  }
  return router;
}

/** Behind authentication: admin keys only. X-Namespace is not read: the keys are the same in every namespace. */
export function codecRoutes(codec: PayloadCodec): Router {
  const router = Router();
  const json = express.json({ limit: MAX_CODEC_BODY_BYTES, strict: false });
  const convert = (direction: 'decode' | 'encode') => async (req: Request, res: Response) => {
    const parsed = codecPayloadsSchema.safeParse(req.body);
    if (!parsed.success) throw new HttpError(400, 'invalid_request', `the body is not {payloads: [{metadata, data}]} in base64: ${parsed.error.issues[0]?.message}`, 'payloads');
    const payloads = parsed.data.payloads.map(fromJson);
    let converted: Payload[];
    try {
      converted = direction === 'decode' ? await codec.decode(payloads) : await codec.encode(payloads);
    } catch (err) {
      // a key no longer held, or bytes that do not authenticate: the caller's payload, not our fault
      throw new HttpError(400, 'invalid_request', `a payload could not be decoded: ${(err as Error).message}`, 'payloads');
    }
    res.json({ payloads: converted.map(toJson) } satisfies JsonPayloads);
  };
  router.post('/codec/decode', requireAdmin, json, convert('decode'));
  router.post('/codec/encode', requireAdmin, json, convert('encode'));
  return router;
}

function fromJson(p: JsonPayloads['payloads'][number]): Payload {
  const metadata = Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

function toJson(p: Payload): JsonPayloads['payloads'][number] {
  const metadata = Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]));
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}
