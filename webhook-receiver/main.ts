// `npm run webhook-receiver`: the example endpoint a merchant would run.
// WEBHOOK_RECEIVER_SECRET is the secret shown when the endpoint was created;
// WEBHOOK_RECEIVER_FAIL_STATUS makes it answer that status to everything.
import { loadConfig } from './config';
import { createWebhookReceiver } from './receiver';

async function main(): Promise<void> {
  const config = loadConfig();
  const { secret, port, host, failStatus } = config;
  if (!secret) {
    console.error('webhook-receiver: set WEBHOOK_RECEIVER_SECRET to the endpoint secret (whsec_...) shown when you created it');
    process.exit(2);
  }
  const receiver = createWebhookReceiver({
    secret,
    failStatus,
    onWebhook: (w) => console.log(`received ${w.type} ${w.webhookId} payment ${w.paymentId ?? '-'} (signature verified)`),
    onRejected: (reason) => console.log(`rejected: ${reason}`),
  });
  const url = await receiver.listen(port, host);
  console.log(`webhook receiver listening on ${url}${failStatus ? ` (answering ${failStatus} to everything)` : ''}`);
  console.log(`register it: curl -X POST http://${host}:${config.api.port}/webhook-endpoints -H 'content-type: application/json' -d '{"url":"${url}","events":["payment.completed","payment.failed","payment.refunded"]}'`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void receiver.close().then(() => process.exit(0));
    });
  }
}

main().catch((err: unknown) => {
  console.error(`webhook-receiver failed: ${(err as Error).message}`);
  process.exit(1);
});
