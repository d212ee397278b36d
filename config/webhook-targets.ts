import { z } from 'zod';
import { flag, isOn, parse } from './read';

// ---- webhook targets: which endpoint URLs may be registered and called (outbound/webhook-target.ts) ----
// A slice of its own, read by both the api (at registration) and the worker
// (before every delivery) so the two agree. Off, the default and production's
// setting: https only, and no loopback, RFC 1918, CGNAT, unique-local or
// reserved address. On: those and plain http too, for a local stack whose
// receivers listen on 127.0.0.1 (npm start and the tests turn it on).
// Link-local (cloud metadata), unspecified and multicast addresses are refused either way.
export const webhookTargetVars = {
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: flag.default('0'),
};

/** Every variable of the webhook-targets group. */
export const WEBHOOK_TARGET_VARIABLES: string[] = Object.keys(webhookTargetVars);

export interface WebhookTargetsConfig {
  allowPrivateNetworks: boolean;
}

export function loadWebhookTargetsConfig(env: NodeJS.ProcessEnv = process.env): WebhookTargetsConfig {
  const e = parse(z.object(webhookTargetVars), env);
  return { allowPrivateNetworks: isOn(e.WEBHOOK_ALLOW_PRIVATE_NETWORKS) };
}
