// iSCSI TransportIDs (SPC-4 §7.6.4.6) and the initiator port identity used by
// persistent reservations. An iSCSI initiator port name is
// "<iSCSI name>,i,0x<ISID>" (RFC 7143 §4.2.7.1 / SAM-5 Annex); FORMAT CODE
// 00b carries the iSCSI name alone (every port of that initiator device),
// 01b the full initiator port name.

/** PROTOCOL IDENTIFIER for iSCSI (SPC-4 Table 444). */
export const PROTOCOL_ISCSI = 0x5;

/** An initiator port as persistent reservations see it. */
export interface InitiatorPortId {
  /** iSCSI name, lower case (iSCSI names compare case-insensitively, RFC 3722). */
  readonly name: string;
  /** ISID as 12 lower-case hex digits; undefined: any ISID of `name`. */
  readonly isid: string | undefined;
}

const PORT_SEPARATOR = ',i,0x';

/** Split a SCSI initiator port name; a name without ",i,0x<ISID>" names the device (no ISID). */
export function parseInitiatorPortName(portName: string): InitiatorPortId {
  const at = portName.toLowerCase().lastIndexOf(PORT_SEPARATOR);
  if (at < 0) return { name: portName.toLowerCase(), isid: undefined };
  const isid = portName.slice(at + PORT_SEPARATOR.length).toLowerCase();
  return { name: portName.slice(0, at).toLowerCase(), isid: /^[0-9a-f]{1,12}$/.test(isid) ? isid.padStart(12, '0') : undefined };
}

/** Encode an iSCSI TransportID: format 01b when the ISID is known, else 00b. */
export function encodeTransportId(port: InitiatorPortId): Buffer {
  const text = port.isid === undefined ? port.name : `${port.name}${PORT_SEPARATOR}${port.isid}`;
  const body = Buffer.from(text, 'utf8');
  // Null terminated, padded to a multiple of 4, at least 20 bytes (SPC-4 §7.6.4.6).
  const padded = Math.max(20, Math.ceil((body.length + 1) / 4) * 4);
  const b = Buffer.alloc(4 + padded);
  b[0] = ((port.isid === undefined ? 0 : 1) << 6) | PROTOCOL_ISCSI;
  b.writeUInt16BE(padded, 2);
  body.copy(b, 4);
  return b;
}

export type DecodedTransportId = { readonly port: InitiatorPortId; readonly length: number } | { readonly error: 'truncated' | 'unsupported' | 'malformed' };

/**
 * Decode the TransportID at `offset` (bounded by `end`). Only iSCSI
 * TransportIDs are accepted: this target has no other transport.
 */
export function decodeTransportId(b: Buffer, offset: number, end: number): DecodedTransportId {
  if (offset + 4 > end) return { error: 'truncated' };
  const format = b[offset] >> 6;
  const protocol = b[offset] & 0x0f;
  if (protocol !== PROTOCOL_ISCSI || format > 1) return { error: 'unsupported' };
  const additional = b.readUInt16BE(offset + 2);
  const length = 4 + additional;
  if (offset + length > end) return { error: 'truncated' };
  const field = b.subarray(offset + 4, offset + length);
  const nul = field.indexOf(0);
  const text = field.subarray(0, nul < 0 ? field.length : nul).toString('utf8');
  if (text.length === 0) return { error: 'malformed' };
  if (format === 0) {
    if (text.includes(',')) return { error: 'malformed' };
    return { port: { name: text.toLowerCase(), isid: undefined }, length };
  }
  const port = parseInitiatorPortName(text);
  if (port.isid === undefined || port.name.length === 0) return { error: 'malformed' };
  return { port, length };
}
