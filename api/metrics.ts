import type { NextFunction, Request, Response } from 'express';
import client from 'prom-client';

export interface ApiMetrics {
  registry: client.Registry;
  checkoutOutcomes: client.Counter<'outcome'>;
  /** How each checkout workflow start went (workflow-starts/checkout.ts, CheckoutStart). */
  checkoutStarts: client.Counter<'start'>;
  /** Where each outcome was heard: recorded (the hosted worker's commit, in this process) or long_poll. */
  checkoutOutcomeSources: client.Counter<'source'>;
  /** Requests answered 503 at once because the database breaker was not closed. */
  dbBreakerRefusals: client.Counter;
  recordRequests(req: Request, res: Response, next: NextFunction): void;
}

export function createApiMetrics(): ApiMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const requests = new client.Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10],
    registers: [registry],
  });
  const checkoutOutcomes = new client.Counter({
    name: 'checkout_outcomes_total',
    help: 'Checkout answers by outcome (completed, declined, failed, replayed, key_reused, pending, invalid, rate_limited, shed, unavailable, error)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const checkoutStarts = new client.Counter({
    name: 'checkout_workflow_starts_total',
    help: "Checkout workflow starts: eager (first task in the start's answer, run in this process), not_eager (through the task queue, or a running one joined), closed (the key's workflow had ended)",
    labelNames: ['start'] as const,
    registers: [registry],
  });
  const checkoutOutcomeSources = new client.Counter({
    name: 'checkout_outcome_sources_total',
    help: "Where the api heard a checkout's outcome: recorded (the hosted worker's commit, in this process) or long_poll (the workflow's result)",
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const dbBreakerRefusals = new client.Counter({
    name: 'db_breaker_refusals_total',
    help: 'Requests answered 503 at once because the database breaker was not closed',
    registers: [registry],
  });
  return {
    registry,
    dbBreakerRefusals,
    checkoutOutcomes,
    checkoutStarts,
    checkoutOutcomeSources,
    recordRequests(req, res, next) {
      const end = duration.startTimer();
      res.on('finish', () => {
        // the route pattern, not the URL, so payment IDs don't explode the label set
        const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
        requests.inc({ method: req.method, route, status: String(res.statusCode) });
        end({ method: req.method, route });
      });
      next();
    },
  };
}
export type CheckoutMetrics = Pick<ApiMetrics, 'checkoutOutcomes' | 'checkoutStarts' | 'checkoutOutcomeSources'>;
