// GET /payments/{payment_id} (api/routes/payments.ts).
import { paymentSchema } from '../bodies';
import type { Operation } from '../operation';

export const paymentOperations: Operation[] = [
  {
    method: 'get',
    path: '/payments/{payment_id}',
    operationId: 'getPayment',
    tag: 'Payments',
    summary: "A payment's status, from Postgres",
    access: 'merchant',
    pathParams: { payment_id: { description: 'as POST /checkout answered it', example: 'pay_5b8e2c0f4d7a4e21a1f3c9d6b2e8a704' } },
    answers: {
      200: {
        description: 'The payment; a decline is `failed` with its `failure_code`',
        body: paymentSchema,
        example: {
          payment_id: 'pay_5b8e2c0f4d7a4e21a1f3c9d6b2e8a704',
          status: 'completed',
          amount_cents: 1999,
          currency: 'USD',
          customer_id: 'cust_42',
          provider_charge_id: 'ch_7f3a9c2e1b',
          failure_code: null,
          created_at: '2025-05-01T12:00:00.000Z',
          updated_at: '2025-05-01T12:00:00.412Z',
        },
      },
      404: { description: "No such payment for this merchant (another merchant's answers the same)", errors: ['not_found'] },
    },
  },
];
