// What kind of network an IP address belongs to, for deciding whether an
// outbound call may reach it. Public addresses have no class; everything else
// is either never reachable (link-local, metadata, unspecified, multicast,
// broadcast) or reachable only where private networks are allowed.
import { BlockList, isIP, isIPv4 } from 'node:net';

export interface AddressClass {
  /** A phrase that completes "127.0.0.1 is ...", e.g. "a loopback address". */
  description: string;
  /** Refused even where private networks are allowed. */
  never: boolean;
}

interface Range {
  cidr: string;
  description: string;
  never: boolean;
}

// First match wins: the narrow ranges come before the wide ones that hold them.
const RANGES: Range[] = [
  // never: nothing a merchant's endpoint could legitimately be
  { cidr: '169.254.169.254/32', description: 'the cloud metadata address', never: true },
  // 0.0.0.0 reaches this host on Linux; the rest of 0/8 is no destination at all
  { cidr: '0.0.0.0/8', description: 'an unspecified address (0.0.0.0/8)', never: true },
  { cidr: '169.254.0.0/16', description: 'a link-local address (169.254.0.0/16)', never: true },
  { cidr: '224.0.0.0/4', description: 'a multicast address (224.0.0.0/4)', never: true },
  { cidr: '255.255.255.255/32', description: 'the broadcast address', never: true },
  { cidr: '::/128', description: 'the unspecified address (::)', never: true },
  { cidr: 'fe80::/10', description: 'a link-local address (fe80::/10)', never: true },
  { cidr: 'ff00::/8', description: 'a multicast address (ff00::/8)', never: true },
  // private: a developer's machine, a test network, an internal service
  { cidr: '127.0.0.0/8', description: 'a loopback address', never: false },
  { cidr: '::1/128', description: 'a loopback address', never: false },
  { cidr: '10.0.0.0/8', description: 'a private network address (RFC 1918)', never: false },
  { cidr: '172.16.0.0/12', description: 'a private network address (RFC 1918)', never: false },
  { cidr: '192.168.0.0/16', description: 'a private network address (RFC 1918)', never: false },
  { cidr: '100.64.0.0/10', description: 'a carrier-grade NAT address (100.64.0.0/10)', never: false },
  { cidr: 'fc00::/7', description: 'a unique-local address (fc00::/7)', never: false },
  { cidr: 'fec0::/10', description: 'a site-local address (fec0::/10)', never: false },
  // reserved: not routed on the internet, so only a private network could answer
  ...[
    '192.0.0.0/24', '192.0.2.0/24', '192.88.99.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '240.0.0.0/4',
    '100::/64', '2001::/32', '2001:2::/48', '2001:db8::/32', '3fff::/20', '64:ff9b:1::/48',
  ].map((cidr) => ({ cidr, description: `a reserved, non-routable address (${cidr})`, never: false })),
];

const LISTS = RANGES.map((range) => {
  const list = new BlockList();
  const [network, prefix] = range.cidr.split('/') as [string, string];
  list.addSubnet(network, Number(prefix), isIPv4(network) ? 'ipv4' : 'ipv6');
  return { range, list };
});

/** The class of an IP address; undefined for a public one. Anything but an IP address is never reachable. */
export function classifyAddress(address: string): AddressClass | undefined {
  const family = isIP(address);
  if (family === 0) return { description: 'not an IP address', never: true };
  if (family === 6) {
    const embedded = embeddedIPv4(address);
    if (embedded) {
      const inner = classifyAddress(embedded.ipv4);
      return inner && { ...inner, description: `${embedded.form} of ${embedded.ipv4}, ${inner.description}` };
    }
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const { range, list } of LISTS) if (list.check(address, type)) return { description: range.description, never: range.never };
  // outside global unicast (2000::/3) nothing is allocated
  if (family === 6 && !GLOBAL_UNICAST.check(address, 'ipv6')) return { description: 'a reserved, non-routable address (outside 2000::/3)', never: false };
  return undefined;
}

const GLOBAL_UNICAST = new BlockList();
GLOBAL_UNICAST.addSubnet('2000::', 3, 'ipv6');

/**
 * The IPv4 address inside an IPv6 form that carries one, where connecting to
 * the IPv6 address reaches the IPv4 one (or a translator in front of it).
 */
function embeddedIPv4(address: string): { form: string; ipv4: string } | undefined {
  const g = ipv6Groups(address);
  const zerosUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  const ipv4 = (hi: number, lo: number) => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
  const [, g1 = 0, g2 = 0, , , g5 = 0, g6 = 0, g7 = 0] = g;
  if (zerosUpTo(5) && g5 === 0xffff) return { form: 'an IPv4-mapped form', ipv4: ipv4(g6, g7) };
  if (zerosUpTo(4) && g[4] === 0xffff && g5 === 0) return { form: 'an IPv4-translated form', ipv4: ipv4(g6, g7) };
  // :: and ::1 are themselves; ::a.b.c.d is the deprecated IPv4-compatible form
  if (zerosUpTo(6) && (g6 !== 0 || g7 > 1)) return { form: 'an IPv4-compatible form', ipv4: ipv4(g6, g7) };
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return { form: 'a NAT64 form', ipv4: ipv4(g6, g7) };
  if (g[0] === 0x2002) return { form: 'a 6to4 form', ipv4: ipv4(g1, g2) };
  return undefined;
}

/** The eight 16-bit groups of a valid IPv6 address (a dotted IPv4 tail and a zone allowed). */
function ipv6Groups(address: string): number[] {
  let text = address.split('%')[0] as string;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string | undefined) => (part ? part.split(':').map((h) => parseInt(h, 16)) : []);
  const front = parse(head);
  const back = parse(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}
