// Which webhook URLs the SSRF guard refuses, and why. Nothing here touches the
// network: host names go to a fake resolver (unknown names fail as NXDOMAIN),
// and the guard only classifies addresses, it never connects to them. To make
// sure of it, every socket connect in this file is refused before it opens
// (the private, link-local and metadata addresses below are never reached),
// and the file ends by checking that none was attempted.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkWebhookTarget, type ResolveHost, type ResolvedAddress, type TargetCheck } from '../../outbound/webhook-target';

// a public address (not a documentation range, which is refused as reserved); never contacted
const PUBLIC_V4 = '93.184.215.14';
const PUBLIC_V6 = '2606:2800:21f:cb07:6820:80da:af6b:8b2c';

const DNS: Record<string, ResolvedAddress[]> = {
  'hooks.example.com': [{ address: PUBLIC_V4, family: 4 }],
  'hooks6.example.com': [{ address: PUBLIC_V6, family: 6 }],
  'loopback.example.test': [{ address: '127.0.0.1', family: 4 }],
  'mixed.example.test': [
    { address: PUBLIC_V4, family: 4 },
    { address: '10.0.0.5', family: 4 },
  ],
  'metadata.example.test': [{ address: '169.254.169.254', family: 4 }],
  'ula.example.test': [{ address: 'fd12:3456::1', family: 6 }],
  'empty.example.test': [],
};

const asked: string[] = [];
const resolve: ResolveHost = async (host) => {
  asked.push(host);
  if (host === 'slow.example.test') return new Promise<never>(() => undefined);
  const found = DNS[host];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return found;
};

const check = (url: string, allowPrivateNetworks: boolean): Promise<TargetCheck> =>
  checkWebhookTarget(url, { allowPrivateNetworks, resolve, resolveTimeoutMs: 50 });

const ALLOWED = 'allowed';

/** url, the reason it is refused with private networks off, and its fate with them on. */
const HOSTILE: Array<[url: string, off: string, on: string]> = [
  // loopback, however it is spelled
  ['http://127.0.0.1:5433/', '127.0.0.1 is a loopback address, allowed only when WEBHOOK_ALLOW_PRIVATE_NETWORKS=1', ALLOWED],
  ['http://2130706433/', '127.0.0.1 is a loopback address', ALLOWED],
  ['http://0x7f000001/', '127.0.0.1 is a loopback address', ALLOWED],
  ['http://0x7f.1/', '127.0.0.1 is a loopback address', ALLOWED],
  ['http://127.1/', '127.0.0.1 is a loopback address', ALLOWED],
  ['http://0177.0.0.1/', '127.0.0.1 is a loopback address', ALLOWED],
  ['http://127.255.255.254/', '127.255.255.254 is a loopback address', ALLOWED],
  ['http://[::1]:7233/', '::1 is a loopback address', ALLOWED],
  ['http://localhost:5433/', 'localhost resolves to 127.0.0.1, a loopback address', ALLOWED],
  ['http://localhost./', 'localhost resolves to 127.0.0.1, a loopback address', ALLOWED],
  ['http://LOCALHOST/', 'localhost resolves to 127.0.0.1, a loopback address', ALLOWED],
  ['http://foo.localhost/', 'foo.localhost resolves to 127.0.0.1, a loopback address', ALLOWED],
  ['https://loopback.example.test/hook', 'loopback.example.test resolves to 127.0.0.1, a loopback address', ALLOWED],
  // IPv6 forms that carry an IPv4 address are judged by that address
  ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1 is an IPv4-mapped form of 127.0.0.1, a loopback address', ALLOWED],
  ['http://[::127.0.0.1]/', '::7f00:1 is an IPv4-compatible form of 127.0.0.1, a loopback address', ALLOWED],
  ['http://[2002:7f00:1::1]/', '2002:7f00:1::1 is a 6to4 form of 127.0.0.1, a loopback address', ALLOWED],
  ['http://[64:ff9b::a00:1]/', '64:ff9b::a00:1 is a NAT64 form of 10.0.0.1, a private network address (RFC 1918)', ALLOWED],
  ['http://[::ffff:a9fe:a9fe]/', '::ffff:a9fe:a9fe is an IPv4-mapped form of 169.254.169.254, the cloud metadata address, which is never allowed', 'never allowed'],
  ['http://[64:ff9b::a9fe:a9fe]/', 'a NAT64 form of 169.254.169.254, the cloud metadata address, which is never allowed', 'never allowed'],
  // private networks
  ['http://10.0.0.1/', '10.0.0.1 is a private network address (RFC 1918)', ALLOWED],
  ['http://172.16.0.1/', '172.16.0.1 is a private network address (RFC 1918)', ALLOWED],
  ['http://192.168.1.1/', '192.168.1.1 is a private network address (RFC 1918)', ALLOWED],
  ['http://100.64.0.1/', '100.64.0.1 is a carrier-grade NAT address (100.64.0.0/10)', ALLOWED],
  ['http://[fd00::1]/', 'fd00::1 is a unique-local address (fc00::/7)', ALLOWED],
  ['https://ula.example.test/', 'ula.example.test resolves to fd12:3456::1, a unique-local address (fc00::/7)', ALLOWED],
  ['https://mixed.example.test/', `mixed.example.test resolves to 10.0.0.5, a private network address (RFC 1918)`, ALLOWED],
  // reserved, non-routable
  ['http://198.18.0.1/', '198.18.0.1 is a reserved, non-routable address (198.18.0.0/15)', ALLOWED],
  ['http://192.0.0.8/', '192.0.0.8 is a reserved, non-routable address (192.0.0.0/24)', ALLOWED],
  ['http://240.0.0.1/', '240.0.0.1 is a reserved, non-routable address (240.0.0.0/4)', ALLOWED],
  // never: metadata, link-local, unspecified, multicast, broadcast
  ['http://169.254.169.254/latest/meta-data/', '169.254.169.254 is the cloud metadata address, which is never allowed', 'never allowed'],
  ['https://metadata.example.test/', 'metadata.example.test resolves to 169.254.169.254, the cloud metadata address, which is never allowed', 'never allowed'],
  ['http://169.254.10.10/', '169.254.10.10 is a link-local address (169.254.0.0/16), which is never allowed', 'never allowed'],
  ['http://[fe80::1]/', 'fe80::1 is a link-local address (fe80::/10), which is never allowed', 'never allowed'],
  ['http://0.0.0.0:5432/', '0.0.0.0 is an unspecified address (0.0.0.0/8), which is never allowed', 'never allowed'],
  ['http://0/', '0.0.0.0 is an unspecified', 'never allowed'],
  ['http://[::]/', ':: is the unspecified address (::), which is never allowed', 'never allowed'],
  ['http://224.0.0.1/', '224.0.0.1 is a multicast address (224.0.0.0/4), which is never allowed', 'never allowed'],
  ['http://[ff02::1]/', 'ff02::1 is a multicast address (ff00::/8), which is never allowed', 'never allowed'],
  ['http://255.255.255.255/', '255.255.255.255 is the broadcast address, which is never allowed', 'never allowed'],
  // credentials and schemes
  ['http://user:pass@example.com/', 'contains credentials (user:password@)', 'contains credentials'],
  ['http://example.com@127.0.0.1/', 'contains credentials (user:password@)', 'contains credentials'],
  ['ftp://example.com/hook', 'scheme "ftp:" is not allowed; use https', 'scheme "ftp:"'],
  ['file:///etc/passwd', 'scheme "file:" is not allowed; use https', 'scheme "file:"'],
  ['javascript:alert(1)', 'scheme "javascript:" is not allowed; use https', 'scheme "javascript:"'],
  ['gopher://127.0.0.1:6379/_INFO', 'scheme "gopher:" is not allowed; use https', 'scheme "gopher:"'],
  // plain http to a public host: fine on a developer's machine only
  ['http://hooks.example.com/x', 'plain http is not allowed; use https (http only when WEBHOOK_ALLOW_PRIVATE_NETWORKS=1)', ALLOWED],
  // a name that does not resolve is refused, not waited on
  ['https://nxdomain.example.test/', 'nxdomain.example.test could not be resolved (ENOTFOUND)', 'could not be resolved'],
  ['https://slow.example.test/', 'slow.example.test did not resolve within 50 ms', 'did not resolve within 50 ms'],
  ['https://empty.example.test/', 'empty.example.test resolves to no address', 'resolves to no address'],
  ['not a url', 'is not a valid absolute URL', 'is not a valid absolute URL'],
];

const seen: Array<{ url: string; off: string; on: string }> = [];

const connectAttempts: string[] = [];
beforeAll(() => {
  vi.spyOn(net.Socket.prototype, 'connect').mockImplementation(function refuse(...args: unknown[]): never {
    connectAttempts.push(JSON.stringify(args[0]));
    throw new Error('no socket may be opened by the webhook target tests');
  });
});

afterAll(() => {
  vi.restoreAllMocks();
  expect(connectAttempts, 'socket connects attempted by the guard').toEqual([]);
  // the list as refused, for the record (the closing note of issue 14)
  console.log(['| URL | private networks off | on |', '|---|---|---|', ...seen.map((r) => `| \`${r.url}\` | ${r.off} | ${r.on} |`)].join('\n'));
});

describe('webhook target guard', () => {
  it(`refuses ${HOSTILE.length} hostile URLs, each with a reason that names what is wrong`, () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(25);
  });

  it.each(HOSTILE)('%s is refused: %s', async (url, off, on) => {
    const withoutPrivate = await check(url, false);
    const withPrivate = await check(url, true);
    const reasonOf = (r: TargetCheck) => (r.ok ? ALLOWED : r.reason);
    seen.push({ url, off: reasonOf(withoutPrivate), on: reasonOf(withPrivate) });

    expect(withoutPrivate.ok).toBe(false);
    expect(reasonOf(withoutPrivate)).toContain(off);
    if (on === ALLOWED) expect(withPrivate).toMatchObject({ ok: true });
    else expect(reasonOf(withPrivate)).toContain(on);
  });

  it('asks the resolver about names only: IP literals and localhost names are judged as written', async () => {
    asked.length = 0;
    for (const url of ['http://2130706433/', 'http://[::ffff:127.0.0.1]/', 'http://localhost./', 'http://foo.localhost/', 'http://169.254.169.254/']) await check(url, false);
    expect(asked).toEqual([]);
    await check('https://hooks.example.com./x', false);
    expect(asked).toEqual(['hooks.example.com']);
  });

  it('refuses a name if any one of its addresses is refused, whichever comes first', async () => {
    const publicFirst: ResolveHost = async () => [
      { address: PUBLIC_V4, family: 4 },
      { address: '169.254.169.254', family: 4 },
    ];
    expect(await checkWebhookTarget('https://hooks.example.com/', { allowPrivateNetworks: true, resolve: publicFirst })).toEqual({
      ok: false,
      reason: 'hooks.example.com resolves to 169.254.169.254, the cloud metadata address, which is never allowed',
    });
  });

  it.each([
    ['https://hooks.example.com/x', PUBLIC_V4],
    ['https://hooks.example.com:8443/events?v=1', PUBLIC_V4],
    ['https://hooks6.example.com/x', PUBLIC_V6],
    [`https://${PUBLIC_V4}/x`, PUBLIC_V4],
    [`https://[${PUBLIC_V6}]/x`, PUBLIC_V6],
  ])('allows %s, to be called at %s', async (url, address) => {
    for (const allowPrivateNetworks of [false, true]) {
      const result = await check(url, allowPrivateNetworks);
      expect(result).toMatchObject({ ok: true, address: { address } });
      if (result.ok) expect(result.url.href).toBe(new URL(url).href);
    }
  });
});
