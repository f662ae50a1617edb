// Storage object WWNs: rtslib's generate_wwn('unit_serial') is a UUID v4 string,
// written to LIO's wwn/vpd_unit_serial.

import { randomUUID } from 'node:crypto';

/** A fresh storage object wwn, formatted like rtslib's (lower-case UUID v4). */
export function generateWwn(): string {
  return randomUUID();
}

/** rtslib's unit_serial pattern; other strings are accepted too (LIO takes any printable serial). */
export const UUID_WWN = /^[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$/;

/**
 * The hex digits of a wwn, lower-cased, in order: what LIO feeds into the
 * vendor-specific part of the NAA designator (VPD 0x83, SPC-4 §7.8.6.6.4)
 * when it derives identifiers from the unit serial. Non-hex characters
 * (dashes) are skipped.
 */
export function unitSerialFromWwn(wwn: string): string {
  return wwn.replace(/[^0-9a-fA-F]/g, '').toLowerCase();
}
