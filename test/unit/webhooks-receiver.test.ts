// The example receiver against our signer: it accepts what we sign and
// refuses a tampered body, a stale timestamp and a foreign signature. Real
// HTTP on a local port; no Temporal or Postgres needed.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWebhookSecret } from '../../db/webhooks-endpoints';
import { signWebhook } from '../../activities/webhooks/signing';
import { createWebhookReceiver, type WebhookReceiver } from '../../webhook-receiver/receiver';

const secret = newWebhookSecret();
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = createWebhookReceiver({ secret });
  await receiver.listen(0);
});

afterAll(async () => {
  await receiver?.close();
});

function eventBody(paymentId: string): string {
  return JSON.stringify({ type: 'payment.completed', timestamp: new Date().toISOString(), data: { payment_id: paymentId, amount_cents: 1999 } });
}

async function send(headers: Record<string, string>, body: string): Promise<number> {
  const res = await fetch(receiver.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  await res.text();
  return res.status;
}

describe('webhook signatures (Standard Webhooks)', () => {
  it('the signature is v1, base64 HMAC-SHA256 of id.timestamp.body under the decoded secret', () => {
    const at = new Date('2026-11-24T06:00:00Z');
    const body = eventBody('pay_spec');
    const headers = signWebhook([secret], 'evt_spec', at, body);
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = crypto.createHmac('sha256', key).update(`evt_spec.${at.getTime() / 1000}.${body}`).digest('base64');
    expect(headers).toEqual({ 'webhook-id': 'evt_spec', 'webhook-timestamp': String(at.getTime() / 1000), 'webhook-signature': `v1,${expected}` });
  });

  it('accepts a webhook we signed, and records it once per webhook-id', async () => {
    const id = `evt_${crypto.randomUUID()}`;
    const body = eventBody('pay_ok');
    expect(await send({ ...signWebhook([secret], id, new Date(), body) }, body)).toBe(204);
    // a retry of the same message: acknowledged, known as a copy
    expect(await send({ ...signWebhook([secret], id, new Date(), body) }, body)).toBe(204);
    const copies = receiver.received.filter((w) => w.webhookId === id);
    expect(copies.map((w) => [w.type, w.paymentId, w.firstTime])).toEqual([
      ['payment.completed', 'pay_ok', true],
      ['payment.completed', 'pay_ok', false],
    ]);
  });

  it('rejects a tampered body', async () => {
    const body = eventBody('pay_tampered');
    const headers = signWebhook([secret], `evt_${crypto.randomUUID()}`, new Date(), body);
    const before = receiver.rejected.length;
    expect(await send({ ...headers }, body.replace('1999', '999999'))).toBe(400);
    expect(receiver.rejected.slice(before).map((r) => r.reason)).toEqual(['No matching signature found']);
  });

  it('rejects a stale timestamp even when the signature over it is right (replay)', async () => {
    const body = eventBody('pay_stale');
    const tenMinutesAgo = new Date(Date.now() - 10 * 60 * 1000);
    const headers = signWebhook([secret], `evt_${crypto.randomUUID()}`, tenMinutesAgo, body);
    const before = receiver.rejected.length;
    expect(await send({ ...headers }, body)).toBe(400);
    expect(receiver.rejected.slice(before).map((r) => r.reason)).toEqual(['Message timestamp too old']);
  });

  it('rejects a signature made with another secret, and a request with no signature', async () => {
    const body = eventBody('pay_foreign');
    const id = `evt_${crypto.randomUUID()}`;
    expect(await send({ ...signWebhook([newWebhookSecret()], id, new Date(), body) }, body)).toBe(400);
    expect(await send({ 'webhook-id': id, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)) }, body)).toBe(400);
    expect(receiver.received.some((w) => w.webhookId === id)).toBe(false);
  });

  it('during a rotation, either secret verifies: both signatures travel in one header', async () => {
    const newSecret = newWebhookSecret();
    const body = eventBody('pay_rotation');
    const id = `evt_${crypto.randomUUID()}`;
    const headers = signWebhook([newSecret, secret], id, new Date(), body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    // this receiver still holds the old secret
    expect(await send({ ...headers }, body)).toBe(204);
    const upgraded = createWebhookReceiver({ secret: newSecret });
    await upgraded.listen(0);
    try {
      const res = await fetch(upgraded.url, { method: 'POST', headers: { ...headers }, body });
      expect(res.status).toBe(204);
    } finally {
      await upgraded.close();
    }
  });

  it('after two rotations, a receiver holding any of the three live secrets verifies', async () => {
    const [first, second, third] = [newWebhookSecret(), newWebhookSecret(), newWebhookSecret()];
    const body = eventBody('pay_two_rotations');
    const headers = signWebhook([third, second, first], `evt_${crypto.randomUUID()}`, new Date(), body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(3);
    for (const secret of [first, second, third]) {
      const holder = createWebhookReceiver({ secret });
      const url = await holder.listen(0);
      try {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
        expect(res.status).toBe(204);
      } finally {
        await holder.close();
      }
    }
  });
});
