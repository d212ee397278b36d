// docs/design.md, "Failure scenarios and drills", scenario 2: a key reused with a changed body is refused with 422 and runs nothing.
import type { Drill } from '../drill';
import { drive, logicalCheckouts } from '../load';

export const keyReuse: Drill = {
  name: 'key-reuse',
  summary: 'keys reused with changed bodies: 422, nothing executed',
  fullDuration: 'about 30 s',
  async run({ short, log, startStack }) {
    const stack = await startStack();
    const n = short ? 50 : 300;
    const items = logicalCheckouts(n, 'reuse');
    await drive(stack, items, { concurrency: 8, log });
    const before = await stack.stubStats();
    const workflowsBefore = (await stack.client.workflow.count('WorkflowType = "checkout"')).count;
    log(`reusing ${n} keys with another amount, currency or payment method`);
    const statuses: Record<number, number> = {};
    await Promise.all(
      items.map(async (item, i) => {
        const changed = { ...item.request };
        if (i % 3 === 0) changed.amount_cents += 1;
        else if (i % 3 === 1) changed.currency = 'EUR';
        else changed.payment_method_id = 'pm_other_card';
        const res = await fetch(`${stack.apiUrl}/checkout`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...stack.authHeaders(), 'idempotency-key': item.key },
          body: JSON.stringify(changed),
        });
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      }),
    );
    const after = await stack.stubStats();
    const workflowsAfter = (await stack.client.workflow.count('WorkflowType = "checkout"')).count;
    const failures: string[] = [];
    if (statuses[422] !== n) failures.push(`expected ${n} answers 422, got ${JSON.stringify(statuses)}`);
    if (after.attempts !== before.attempts) failures.push(`the provider saw ${after.attempts - before.attempts} new attempts`);
    if (workflowsAfter !== workflowsBefore) failures.push(`${workflowsAfter - workflowsBefore} workflows started`);
    return {
      rows: [
        ['keys reused', n],
        ['answers', JSON.stringify(statuses)],
        ['new provider attempts', after.attempts - before.attempts],
        ['new workflows', workflowsAfter - workflowsBefore],
      ],
      failures,
    };
  },
};
