// SendTargets responses (RFC 7143 §13.3, Appendix C): for each target a
// TargetName record followed by its TargetAddress records.

import { isIPv6 } from 'node:net';

export interface SendTargetsEntry {
  name: string;
  /** "ip:port,tpgt" with IPv6 in brackets. */
  addresses: string[];
}

/** RFC 7143 §13.8: TargetAddress=domainname[:port][,portal-group-tag]; IPv6 literals in brackets. */
export function formatTargetAddress(ip: string, port: number, portalGroupTag: number): string {
  const host = isIPv6(ip) && !ip.startsWith('[') ? `[${ip}]` : ip;
  return `${host}:${port},${portalGroupTag}`;
}

export function sendTargetsRecords(entries: readonly SendTargetsEntry[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const entry of entries) {
    out.push(['TargetName', entry.name]);
    for (const address of entry.addresses) out.push(['TargetAddress', address]);
  }
  return out;
}
