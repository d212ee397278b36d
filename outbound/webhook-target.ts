// Whether a merchant's webhook URL may be called, and at which address: the
// check that keeps the webhook sender from being an internal port scanner.
// It runs when an endpoint is registered and again before every delivery,
// which then connects to the address this check returned (a name that
// resolves elsewhere a second later is never looked up again).
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { classifyAddress } from './address-class';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address a host name resolves to; injectable so tests never depend on real DNS. */
export type ResolveHost = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: ResolveHost = async (hostname) => {
  const found = await dns.lookup(hostname, { all: true, verbatim: true });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

export interface WebhookTargetPolicy {
  /** Loopback, RFC 1918, CGNAT, unique-local and reserved addresses, and plain http (WEBHOOK_ALLOW_PRIVATE_NETWORKS). */
  allowPrivateNetworks: boolean;
  resolve: ResolveHost;
  /** How long a resolution may take; default 2 s. */
  resolveTimeoutMs?: number;
}

export type TargetCheck = { ok: true; url: URL; address: ResolvedAddress } | { ok: false; reason: string };

const FLAG = 'WEBHOOK_ALLOW_PRIVATE_NETWORKS=1';
const DEFAULT_RESOLVE_TIMEOUT_MS = 2_000;

/** Refuses (with a sentence saying why) any URL that is not an http(s) endpoint on a network we may call. */
export async function checkWebhookTarget(rawUrl: string, policy: WebhookTargetPolicy): Promise<TargetCheck> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return refuse('is not a valid absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return refuse(`scheme "${url.protocol}" is not allowed; use https`);
  // userinfo is sent nowhere useful and hides the real host from a reader (http://bank.com@10.0.0.1/)
  if (url.username !== '' || url.password !== '') return refuse('contains credentials (user:password@); put none in the URL');

  const resolved = await addressesOf(url.hostname, policy);
  if ('reason' in resolved) return refuse(resolved.reason);
  for (const address of resolved.addresses) {
    const found = classifyAddress(address.address);
    if (!found) continue;
    const where = resolved.named ? `${resolved.host} resolves to ${address.address}, ${found.description}` : `${address.address} is ${found.description}`;
    if (found.never) return refuse(`${where}, which is never allowed`);
    if (!policy.allowPrivateNetworks) return refuse(`${where}, allowed only when ${FLAG}`);
  }
  // checked after the host so a private target is named as such, not as "plain http"
  if (url.protocol === 'http:' && !policy.allowPrivateNetworks) return refuse(`plain http is not allowed; use https (http only when ${FLAG})`);
  return { ok: true, url, address: resolved.addresses[0] as ResolvedAddress };
}

function refuse(reason: string): TargetCheck {
  return { ok: false, reason };
}

type HostAddresses = { host: string; named: boolean; addresses: ResolvedAddress[] } | { reason: string };

/** An IP literal as it is; localhost names as loopback; any other name through the resolver, within its timeout. */
async function addressesOf(hostname: string, policy: WebhookTargetPolicy): Promise<HostAddresses> {
  const literal = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  const family = isIP(literal);
  if (family === 4 || family === 6) return { host: literal, named: false, addresses: [{ address: literal, family }] };

  // one trailing dot is the same name, fully qualified: localhost. is localhost
  const host = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  if (host === '') return { reason: 'has no host' };
  // RFC 6761: these never leave the machine, whatever a resolver says
  if (host === 'localhost' || host.endsWith('.localhost')) return { host, named: true, addresses: [{ address: '127.0.0.1', family: 4 }] };

  const timeoutMs = policy.resolveTimeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const addresses = await Promise.race([policy.resolve(host), timeout]);
    if (addresses === 'timeout') return { reason: `${host} did not resolve within ${timeoutMs} ms` };
    if (addresses.length === 0) return { reason: `${host} resolves to no address` };
    return { host, named: true, addresses };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { reason: `${host} could not be resolved (${e.code ?? e.message})` };
  } finally {
    clearTimeout(timer);
  }
}
