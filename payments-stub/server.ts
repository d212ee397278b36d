// A fake payment provider over HTTP: Stripe-like charges and refunds behind
// idempotency keys, with faults (latency, errors, hangs, lost responses) set at
// start or changed at run time through PUT /faults.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import { FaultController, faultUpdateSchema, type FaultMode, type FaultSettings } from './faults';
import { IdempotencyStore, type IdempotentResult, type StoredAnswer } from './idempotency';
import { Ledger, type Charge } from './ledger';

export type { FaultMode, FaultSettings } from './faults';

export interface StubOptions {
  /** 0 picks a free port. */
  port: number;
  /** Defaults to 127.0.0.1. */
  host?: string;
  latencyMs: number;
  /** Share of requests the fault mode hits; undefined means every request. */
  failRate?: number;
  faultMode: FaultMode;
  logger?: Logger;
}

export interface StubStats {
  /** Every POST /charges received, faulted or not. */
  attempts: number;
  charges_applied: number;
  /** Answers served from an idempotency key instead of new work. */
  replays: number;
  faults_injected: number;
  refunds_applied: number;
  declines: number;
}

export interface Stub {
  app: express.Express;
  faults: FaultController;
  ledger: Ledger;
  stats(): StubStats;
}

export interface RunningStub {
  url: string;
  port: number;
  /** Stops listening and drops every open connection, hung ones included. */
  close(): Promise<void>;
}

interface Reply extends StoredAnswer {
  replayed?: boolean;
}

// Test cards, as at real providers: these payment methods always decline.
const DECLINES: Record<string, { code: string; message: string }> = {
  pm_declined: { code: 'card_declined', message: 'Your card was declined.' },
  pm_insufficient_funds: { code: 'insufficient_funds', message: 'Your card has insufficient funds.' },
};

const chargeBody = z.object({
  amount_cents: z.number().int().positive(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be three upper-case letters, e.g. USD'),
  payment_method_id: z.string().min(1),
});

const refundBody = z.object({
  charge_id: z.string().min(1),
});

const chargeListQuery = z.object({
  since: z.coerce.number().int().min(0).optional(),
});

export function createStub(options: StubOptions): Stub {
  const logger = options.logger ?? pino({ enabled: false });
  const faults = new FaultController(startFaults(options));
  const ledger = new Ledger();
  const idempotency = new IdempotencyStore();
  const counts = { attempts: 0, replays: 0, faults_injected: 0, declines: 0 };

  const stats = (): StubStats => ({
    ...counts,
    charges_applied: ledger.chargeCount,
    refunds_applied: ledger.refundCount,
  });

  function fromIdempotent(result: IdempotentResult): Reply {
    if (result.kind === 'key_reused') {
      return {
        status: 400,
        body: errorBody('idempotency_key_reused', 'This Idempotency-Key was already used with a different request.'),
      };
    }
    if (result.kind === 'replay') {
      counts.replays++;
      return { ...result.answer, replayed: true };
    }
    return result.answer;
  }

  async function createCharge(req: Request): Promise<Reply> {
    const key = req.get('Idempotency-Key');
    if (!key) return invalidRequest('the Idempotency-Key header is required', 'Idempotency-Key');
    const parsed = chargeBody.safeParse(req.body);
    if (!parsed.success) return invalidFromZod(parsed.error);
    const input = parsed.data;
    const fingerprint = JSON.stringify(['charge', input.amount_cents, input.currency, input.payment_method_id]);

    const result = await idempotency.run(key, fingerprint, async () => {
      // Latency comes first and is not tied to the caller: a caller who gives up
      // still gets charged, as with a real provider.
      await sleep(faults.current.latency_ms);
      const decline = DECLINES[input.payment_method_id];
      if (decline) {
        counts.declines++;
        logger.info({ idempotencyKey: key, code: decline.code }, 'charge declined');
        return { status: 402, body: errorBody(decline.code, decline.message) };
      }
      const charge = ledger.addCharge({ idempotency_key: key, ...input });
      logger.info({ idempotencyKey: key, chargeId: charge.id, amountCents: charge.amount_cents }, 'charge applied');
      return {
        status: 200,
        body: {
          id: charge.id,
          status: 'succeeded',
          amount_cents: charge.amount_cents,
          currency: charge.currency,
          created: charge.created,
        },
      };
    });
    return fromIdempotent(result);
  }

  async function createRefund(req: Request): Promise<Reply> {
    const key = req.get('Idempotency-Key');
    if (!key) return invalidRequest('the Idempotency-Key header is required', 'Idempotency-Key');
    const parsed = refundBody.safeParse(req.body);
    if (!parsed.success) return invalidFromZod(parsed.error);
    const chargeId = parsed.data.charge_id;

    const result = await idempotency.run(key, JSON.stringify(['refund', chargeId]), async () => {
      await sleep(faults.current.latency_ms);
      const charge = ledger.findCharge(chargeId);
      if (!charge) {
        return { status: 404, body: errorBody('resource_missing', `No such charge: ${chargeId}`, 'charge_id') };
      }
      if (charge.refunded) {
        return { status: 400, body: errorBody('charge_already_refunded', `Charge ${chargeId} is already refunded.`) };
      }
      const refund = ledger.refund(charge, key);
      logger.info({ idempotencyKey: key, chargeId, refundId: refund.id }, 'refund applied');
      return {
        status: 200,
        body: {
          id: refund.id,
          charge_id: refund.charge_id,
          status: 'succeeded',
          amount_cents: refund.amount_cents,
          currency: refund.currency,
          created: refund.created,
        },
      };
    });
    return fromIdempotent(result);
  }

  // Wraps a provider operation with the fault picked for this request.
  function withFaults(operation: (req: Request) => Promise<Reply>): RequestHandler {
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

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const json = express.json({ limit: '16kb' });

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  app.post(
    '/charges',
    (_req, _res, next) => {
      counts.attempts++;
      next();
    },
    json,
    withFaults(createCharge),
  );

  app.post('/refunds', json, withFaults(createRefund));

  app.get('/charges', (req, res) => {
    const parsed = chargeListQuery.safeParse(req.query);
    if (!parsed.success) {
      send(res, invalidFromZod(parsed.error));
      return;
    }
    res.json({ data: ledger.listCharges(parsed.data.since).map(listedCharge) });
  });

  // One charge by id, as a reconciler looks up a charge older than its window.
  app.get('/charges/:id', (req: Request<{ id: string }>, res) => {
    const charge = ledger.findCharge(req.params.id);
    if (!charge) {
      send(res, { status: 404, body: errorBody('resource_missing', `No such charge: ${req.params.id}`) });
      return;
    }
    res.json(listedCharge(charge));
  });

  // Every refund applied (optionally ?since=, unix seconds), for reconciliation.
  app.get('/refunds', (req, res) => {
    const parsed = chargeListQuery.safeParse(req.query);
    if (!parsed.success) {
      send(res, invalidFromZod(parsed.error));
      return;
    }
    res.json({ data: ledger.listRefunds(parsed.data.since) });
  });

  app.get('/stats', (_req, res) => {
    res.json(stats());
  });

  app.get('/faults', (_req, res) => {
    res.json(faults.current);
  });

  app.put('/faults', json, (req, res) => {
    const parsed = faultUpdateSchema.safeParse(req.body);
    if (!parsed.success) {
      send(res, invalidFromZod(parsed.error));
      return;
    }
    const settings = faults.update(parsed.data);
    logger.info({ faults: settings }, 'faults changed');
    res.json(settings);
  });

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
    const status = errorField(err, 'status');
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const message = err instanceof Error ? err.message : 'bad request';
      send(res, { status, body: errorBody('invalid_request', message) });
      return;
    }
    logger.error({ err }, 'unexpected error');
    send(res, { status: 500, body: errorBody('internal_error', 'Unexpected error in the stub.') });
  });

  return { app, faults, ledger, stats };
}

/** Starts the stub on options.port (0 = any free port) and resolves once it listens. */
export async function startStub(options: StubOptions): Promise<RunningStub> {
  const stub = createStub(options);
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer(stub.app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Hung and slow requests would otherwise keep close() waiting forever.
        stub.faults.releaseHanging();
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** A charge as GET /charges lists it. */
function listedCharge(c: Charge): object {
  return {
    id: c.id,
    idempotency_key: c.idempotency_key,
    amount_cents: c.amount_cents,
    currency: c.currency,
    created: c.created,
    refunded: c.refunded,
  };
}

function startFaults(options: StubOptions): FaultSettings {
  const settings: FaultSettings = {
    latency_ms: options.latencyMs,
    fail_rate: options.failRate ?? null,
    mode: options.faultMode,
  };
  const parsed = faultUpdateSchema.safeParse(settings);
  if (!parsed.success) throw new Error(`invalid payments stub options: ${z.prettifyError(parsed.error)}`);
  return settings;
}

function send(res: Response, reply: Reply): void {
  if (reply.replayed) res.set('Idempotent-Replayed', 'true');
  res.status(reply.status).json(reply.body);
}

function errorBody(code: string, message: string, field?: string): object {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}

function invalidRequest(message: string, field?: string): Reply {
  return { status: 400, body: errorBody('invalid_request', message, field) };
}

function invalidFromZod(error: z.ZodError): Reply {
  const issue = error.issues[0];
  if (!issue) return invalidRequest('invalid request');
  if (issue.code === 'unrecognized_keys') return invalidRequest(`unknown field: ${issue.keys.join(', ')}`, issue.keys[0]);
  if (issue.path.length === 0) return invalidRequest('the body must be a JSON object');
  const field = issue.path.join('.');
  return invalidRequest(`${field}: ${issue.message}`, field);
}

function errorField(err: unknown, name: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[name] : undefined;
}
