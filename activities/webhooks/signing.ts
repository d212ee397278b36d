// Standard Webhooks signing: `webhook-signature` is `v1,<base64 HMAC-SHA256>`
// over `id.timestamp.body`, one signature per secret not yet expired,
// space-separated, so a receiver holding any of them verifies: after two
// rotations, the first secret still works until its own expiry.
import { Webhook } from 'standardwebhooks';

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** The three headers for one attempt; the id stays the same across attempts, the timestamp does not. */
export function signWebhook(secrets: string[], messageId: string, at: Date, body: string): SignedHeaders {
  if (secrets.length === 0) throw new Error('a webhook needs at least one signing secret');
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(messageId, at, body)).join(' '),
  };
}
