// Address policy for outbound fetches: which IPs a URL source may reach (SSRF protection).

/** Why an address is refused, or null when it is a public unicast address. */
export function blockedAddressReason(address: string): string | null {
  const ip = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const v4 = parseIpv4(ip);
  if (v4) return ipv4Reason(v4);
  const v6 = parseIpv6(ip);
  if (v6) return ipv6Reason(v6);
  return 'not an IP address';
}

/** True when `address` is a public unicast IP that URL sources may fetch by default. */
export const isPublicAddress = (address: string) => blockedAddressReason(address) === null;

/** Parses dotted-quad IPv4 (the only form DNS answers and WHATWG-normalised URLs use). */
export function parseIpv4(ip: string): number[] | null {
  const parts = ip.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

// [first octet, second octet mask range] tables would be shorter but harder to check against
// the IANA special-purpose registry; these read as the registry does.
function ipv4Reason(b: number[]): string | null {
  const [a = 0, c = 0, d = 0] = b;
  if (a === 0) return 'unspecified or "this network" address (0.0.0.0/8)';
  if (a === 10) return 'private address (10.0.0.0/8)';
  if (a === 100 && c >= 64 && c <= 127) return 'carrier-grade NAT address (100.64.0.0/10)';
  if (a === 127) return 'loopback address (127.0.0.0/8)';
  if (a === 169 && c === 254) return 'link-local address (169.254.0.0/16, cloud metadata)';
  if (a === 172 && c >= 16 && c <= 31) return 'private address (172.16.0.0/12)';
  if (a === 192 && c === 0 && d === 0) return 'IETF protocol assignment (192.0.0.0/24)';
  if (a === 192 && c === 0 && d === 2) return 'documentation address (192.0.2.0/24)';
  if (a === 192 && c === 88 && d === 99) return '6to4 relay anycast (192.88.99.0/24)';
  if (a === 192 && c === 168) return 'private address (192.168.0.0/16)';
  if (a === 198 && (c === 18 || c === 19)) return 'benchmarking address (198.18.0.0/15)';
  if (a === 198 && c === 51 && d === 100) return 'documentation address (198.51.100.0/24)';
  if (a === 203 && c === 0 && d === 113) return 'documentation address (203.0.113.0/24)';
  if (a >= 224 && a <= 239) return 'multicast address (224.0.0.0/4)';
  if (a >= 240) return 'reserved or broadcast address (240.0.0.0/4)';
  return null;
}

/** Parses IPv6 text (with `::` and an optional dotted IPv4 tail) into eight 16-bit groups. */
export function parseIpv6(ip: string): number[] | null {
  if (!ip.includes(':')) return null;
  let text = ip.toLowerCase();
  // A dotted IPv4 tail (::ffff:127.0.0.1) becomes its two hex groups (::ffff:7f00:1).
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = parseIpv4(last);
    if (!v4) return null;
    const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hex(v4[0] ?? 0, v4[1] ?? 0)}:${hex(v4[2] ?? 0, v4[3] ?? 0)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string) => (s === '' ? [] : s.split(':'));
  const head = parse(halves[0] ?? '');
  const rest = halves.length === 2 ? parse(halves[1] ?? '') : [];
  const groups: number[] = [];
  for (const g of [...head, ...rest]) {
    if (!/^[0-9a-f]{1,4}$/.test(g)) return null;
  }
  const explicit = head.length + rest.length;
  if (halves.length === 1 && explicit !== 8) return null;
  if (halves.length === 2 && explicit > 7) return null;
  for (const g of head) groups.push(Number.parseInt(g, 16));
  if (halves.length === 2) for (let i = 0; i < 8 - explicit; i++) groups.push(0);
  for (const g of rest) groups.push(Number.parseInt(g, 16));
  return groups.length === 8 ? groups : null;
}

function embeddedIpv4(g: number[], from: number): number[] {
  const hi = g[from] ?? 0;
  const lo = g[from + 1] ?? 0;
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];
}

function ipv6Reason(g: number[]): string | null {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, , g7 = 0] = g;
  const zeroTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroTo(8)) return 'unspecified address (::)';
  if (zeroTo(7) && g7 === 1) return 'loopback address (::1)';
  // IPv4-mapped (::ffff:a.b.c.d) and the deprecated IPv4-compatible form (::a.b.c.d) reach the
  // IPv4 address inside, so they are judged by it.
  if (zeroTo(5) && g5 === 0xffff) {
    const r = ipv4Reason(embeddedIpv4(g, 6));
    return r ? `IPv4-mapped ${r}` : null;
  }
  if (zeroTo(6)) return 'IPv4-compatible address (::/96, deprecated)';
  // IPv4-translated (::ffff:0:a.b.c.d, SIIT) also stands for the IPv4 address inside
  // (docs/notes/ingestion.md, "SSRF protection").
  if (zeroTo(4) && g4 === 0xffff && g5 === 0) {
    const r = ipv4Reason(embeddedIpv4(g, 6));
    return r ? `IPv4-translated ${r}` : null;
  }
  // NAT64 (64:ff9b::/96) translates to the embedded IPv4 address.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    const r = ipv4Reason(embeddedIpv4(g, 6));
    return r ? `NAT64 ${r}` : null;
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return 'local-use NAT64 address (64:ff9b:1::/48)';
  if (g0 === 0x100 && g1 === 0 && g2 === 0 && g3 === 0) return 'discard-only address (100::/64)';
  if (g0 === 0x2001 && g1 === 0) return 'Teredo tunnel address (2001::/32)';
  if (g0 === 0x2001 && g1 === 0xdb8) return 'documentation address (2001:db8::/32)';
  if (g0 === 0x2002) {
    // 6to4 embeds an IPv4 address in the next 32 bits.
    const r = ipv4Reason(embeddedIpv4(g, 1));
    return r ? `6to4 ${r}` : null;
  }
  if ((g0 & 0xfe00) === 0xfc00) return 'unique local address (fc00::/7)';
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local address (fe80::/10)';
  if ((g0 & 0xffc0) === 0xfec0) return 'site-local address (fec0::/10, deprecated)';
  if ((g0 & 0xff00) === 0xff00) return 'multicast address (ff00::/8)';
  return null;
}
