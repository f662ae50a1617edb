// Basic Header Segment accessors shared by every PDU codec (RFC 7143 §11.2.1).
//
//  byte 0      .|I|Opcode(6)
//  byte 1      F + opcode-specific bits
//  bytes 2-3   opcode-specific
//  byte 4      TotalAHSLength (in 4-byte words)
//  bytes 5-7   DataSegmentLength (bytes, excluding padding)
//  bytes 8-15  LUN or opcode-specific
//  bytes 16-19 Initiator Task Tag
//  bytes 20-47 opcode-specific

import { BHS_LENGTH, RejectReason } from './types.js';
import type { Frame, Opcode } from './types.js';

/** Largest value representable in the 24-bit DataSegmentLength field. */
export const MAX_DATA_SEGMENT_LENGTH = 0xffffff;
/** Largest AHS area: TotalAHSLength is one byte of 4-byte words. */
export const MAX_AHS_LENGTH = 255 * 4;

export function readOpcode(bhs: Buffer): number {
  return bhs[0] & 0x3f;
}

export function readImmediate(bhs: Buffer): boolean {
  return (bhs[0] & 0x40) !== 0;
}

/** The F bit (byte 1, 0x80). */
export function readFinal(bhs: Buffer): boolean {
  return (bhs[1] & 0x80) !== 0;
}

/** TotalAHSLength in bytes (the field counts 4-byte words). */
export function readTotalAhsLength(bhs: Buffer): number {
  return bhs[4] * 4;
}

export function readDataSegmentLength(bhs: Buffer): number {
  return (bhs[5] << 16) | (bhs[6] << 8) | bhs[7];
}

export function writeDataSegmentLength(bhs: Buffer, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_DATA_SEGMENT_LENGTH) {
    throw new RangeError(`DataSegmentLength out of range: ${n}`);
  }
  bhs[5] = (n >>> 16) & 0xff;
  bhs[6] = (n >>> 8) & 0xff;
  bhs[7] = n & 0xff;
}

export function readItt(bhs: Buffer): number {
  return bhs.readUInt32BE(16);
}

/** The 8-byte LUN field (bytes 8-15) as a view into the BHS. */
export function readLun(bhs: Buffer): Buffer {
  return bhs.subarray(8, 16);
}

/** Copies up to 8 bytes of `lun` into bytes 8-15 (a shorter LUN is zero-filled). */
export function writeLun(bhs: Buffer, lun: Buffer): void {
  lun.copy(bhs, 8, 0, Math.min(8, lun.length));
}

/** A zeroed BHS with the opcode and (initiator PDUs only) the I bit set. */
export function allocBhs(opcode: Opcode, immediate = false): Buffer {
  const bhs = Buffer.alloc(BHS_LENGTH);
  bhs[0] = (immediate ? 0x40 : 0) | opcode;
  return bhs;
}

/** Sets TotalAHSLength and DataSegmentLength and packages the frame. */
export function makeFrame(bhs: Buffer, ahs: Buffer, data: Buffer): Frame {
  if (ahs.length % 4 !== 0 || ahs.length > MAX_AHS_LENGTH) {
    throw new RangeError(`AHS length must be a multiple of 4 and <= ${MAX_AHS_LENGTH}: ${ahs.length}`);
  }
  bhs[4] = ahs.length / 4;
  writeDataSegmentLength(bhs, data.length);
  return { bhs, ahs, data };
}

const EMPTY = Buffer.alloc(0);
/** Shared empty buffer (length 0, so it can never be written). */
export function emptyBuffer(): Buffer {
  return EMPTY;
}

/**
 * Structural checks every decoder runs first: BHS size, opcode, and lengths
 * that agree with the header. Returns undefined when the frame is sound.
 */
export function checkFrame(
  frame: Frame,
  opcode: Opcode,
  opts: { allowAhs?: boolean; allowData?: boolean; name: string },
): { ok: false; reason: RejectReason; message: string } | undefined {
  const { bhs } = frame;
  if (bhs.length !== BHS_LENGTH) {
    return { ok: false, reason: RejectReason.ProtocolError, message: `BHS must be ${BHS_LENGTH} bytes, got ${bhs.length}` };
  }
  if (readOpcode(bhs) !== opcode) {
    return {
      ok: false,
      reason: RejectReason.ProtocolError,
      message: `opcode 0x${readOpcode(bhs).toString(16)} is not ${opts.name}`,
    };
  }
  if (frame.ahs.length !== readTotalAhsLength(bhs)) {
    return { ok: false, reason: RejectReason.ProtocolError, message: `${opts.name}: AHS length disagrees with TotalAHSLength` };
  }
  if (frame.data.length !== readDataSegmentLength(bhs)) {
    return { ok: false, reason: RejectReason.ProtocolError, message: `${opts.name}: data length disagrees with DataSegmentLength` };
  }
  // Only the SCSI Command defines AHS types (RFC 7143 §11.2.1.2, §11.3.5-6).
  if (!opts.allowAhs && frame.ahs.length !== 0) {
    return { ok: false, reason: RejectReason.ProtocolError, message: `${opts.name} carries an AHS` };
  }
  if (opts.allowData === false && frame.data.length !== 0) {
    return { ok: false, reason: RejectReason.ProtocolError, message: `${opts.name} carries a data segment` };
  }
  return undefined;
}
