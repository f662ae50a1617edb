// Portal addresses. targetcli writes IPv6 portals in brackets ("[::0]"),
// older configs use bare IPv4 ("0.0.0.0"); both forms are accepted.

import { isIPv4, isIPv6 } from 'node:net';

/** The bare address (brackets removed) if `s` is an IPv4 or IPv6 literal, else undefined. */
export function parseIpLiteral(s: string): { address: string; family: 4 | 6 } | undefined {
  if (isIPv4(s)) return { address: s, family: 4 };
  const bare = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  // Zone ids (fe80::1%eth0) are not allowed: LIO refuses link-local portals.
  if (!bare.includes('%') && isIPv6(bare)) return { address: bare, family: 6 };
  return undefined;
}

/** Canonical text of an IP literal, so "::0", "[::]" and "0:0::0" compare equal. */
export function canonicalIp(s: string): string | undefined {
  const ip = parseIpLiteral(s);
  if (!ip) return undefined;
  // WHATWG URL host parsing canonicalises IPv4 and compresses IPv6 (RFC 5952).
  return new URL(ip.family === 6 ? `http://[${ip.address}]/` : `http://${ip.address}/`).hostname;
}

/** The wildcard addresses: 0.0.0.0 and :: (targetcli's default "[::0]" listens on both families). */
export function isWildcard(s: string): boolean {
  const c = canonicalIp(s);
  return c === '0.0.0.0' || c === '[::]';
}
