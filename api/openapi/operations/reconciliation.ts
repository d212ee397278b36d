// GET /reconciliation/runs (api/routes/reconciliation.ts): an operator route.
import { reconciliationRunsQuerySchema } from '../../routes/reconciliation';
import { reconciliationRunListSchema } from '../bodies';
import type { Operation } from '../operation';

export const reconciliationOperations: Operation[] = [
  {
    method: 'get',
    path: '/reconciliation/runs',
    operationId: 'listReconciliationRuns',
    tag: 'Operators',
    summary: 'The newest reconciliation runs: window, counts and findings',
    description: 'An admin key only. Runs span every merchant; each finding names its merchant, or null.',
    access: 'admin',
    query: { schema: reconciliationRunsQuerySchema, descriptions: { limit: 'how many runs, newest first', schedule_id: "only this schedule's runs" } },
    answers: {
      200: {
        description: 'The runs, newest first',
        body: reconciliationRunListSchema,
        example: {
          data: [
            {
              run_id: 'reconciliation-2025-05-01T12:05:00Z',
              schedule_id: 'reconciliation',
              scheduled_at: '2025-05-01T12:05:00.000Z',
              window: { since: '2025-05-01T11:55:00.000Z', until: '2025-05-01T12:05:00.000Z' },
              started_at: '2025-05-01T12:05:00.120Z',
              finished_at: '2025-05-01T12:05:00.480Z',
              charges_checked: 120,
              postings_checked: 120,
              mismatches_found: 1,
              mismatches: [
                {
                  kind: 'charge_without_posting',
                  provider_charge_id: 'ch_7f3a9c2e1b',
                  workflow_id: 'checkout-mer_7c1e0d-order-1001',
                  merchant_id: 'mer_7c1e0d',
                  idempotency_key: 'order-1001',
                  provider_amount_cents: 1999,
                  ledger_amount_cents: null,
                  currency: 'USD',
                  found_at: '2025-05-01T12:05:00.470Z',
                },
              ],
            },
          ],
        },
      },
      400: {
        description: '`limit` is not an integer from 1 to 100',
        errors: ['invalid_request'],
        example: { error: { code: 'invalid_request', message: 'limit must be an integer from 1 to 100', field: 'limit' } },
      },
    },
  },
];
