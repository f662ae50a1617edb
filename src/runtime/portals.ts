// Portal addresses: which sockets to listen on and how a portal is reported
// in SendTargets (RFC 7143 §13.8 TargetAddress, Appendix C).

import { isIPv6 } from 'node:net';

/** targetcli writes IPv6 portals in brackets ("[::0]"); sockets want them bare. */
export function bareAddress(ip: string): string {
  return ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
}

export function isWildcard(ip: string): boolean {
  const a = bareAddress(ip);
  return a === '0.0.0.0' || a === '::' || a === '::0' || /^(0+:){7}0+$/.test(a);
}

/** A v4-mapped IPv6 address as the v4 literal ("::ffff:127.0.0.1" → "127.0.0.1"). */
export function unmapAddress(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1] : ip;
}

/** "ip:port,tpgt" with IPv6 in brackets. */
export function formatTargetAddress(ip: string, port: number, tpgt: number): string {
  const a = bareAddress(ip);
  return `${isIPv6(a) ? `[${a}]` : a}:${port},${tpgt}`;
}

export interface ListenSpec {
  host: string;
  port: number;
  ipv6Only: boolean;
}

/**
 * The sockets to open for a set of portals. A wildcard on a port covers every
 * specific address of its family on that port (Linux refuses to bind both).
 */
export function planListeners(portals: readonly { ip: string; port: number }[]): ListenSpec[] {
  const byPort = new Map<number, Set<string>>();
  for (const p of portals) {
    const set = byPort.get(p.port) ?? new Set<string>();
    set.add(normalizeWildcard(bareAddress(p.ip)));
    byPort.set(p.port, set);
  }
  const out: ListenSpec[] = [];
  for (const [port, hosts] of byPort) {
    const any4 = hosts.has('0.0.0.0');
    const any6 = hosts.has('::');
    if (any6) out.push({ host: '::', port, ipv6Only: any4 });
    if (any4) out.push({ host: '0.0.0.0', port, ipv6Only: false });
    for (const h of hosts) {
      if (h === '0.0.0.0' || h === '::') continue;
      const v6 = isIPv6(h);
      if (v6 && any6) continue;
      if (!v6 && (any4 || any6)) continue; // 0.0.0.0, or a dual-stack "::", covers IPv4
      out.push({ host: h, port, ipv6Only: v6 });
    }
  }
  return out;
}

function normalizeWildcard(ip: string): string {
  if (!isWildcard(ip)) return ip;
  return isIPv6(ip) ? '::' : '0.0.0.0';
}

/** Does a portal serve a connection that arrived on localAddress:localPort? */
export function portalMatches(portal: { ip: string; port: number }, localAddress: string, localPort: number): boolean {
  if (portal.port !== localPort) return false;
  const ip = normalizeWildcard(bareAddress(portal.ip));
  const local = unmapAddress(localAddress);
  if (ip === '::') return true;
  if (ip === '0.0.0.0') return !isIPv6(local);
  return ip === local || (isIPv6(ip) && isIPv6(local) && expand6(ip) === expand6(local));
}

function expand6(a: string): string {
  const [head, tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((x) => parseInt(x, 16).toString(16)).join(':');
}
