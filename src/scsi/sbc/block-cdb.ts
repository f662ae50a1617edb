// Common decoding of SBC-3 block-access CDBs (READ/WRITE/VERIFY 6/10/12/16).

import type { UnitGeometry } from '../command.js';
import { readU64Safe } from '../cdb.js';
import { failure, invalidCdbField, SenseReason, type SenseFailure } from '../sense.js';

export interface BlockRequest {
  readonly lba: number;
  readonly blocks: number;
  /** Byte 1 of 10/12/16-byte CDBs (flags), 0 for 6-byte CDBs. */
  readonly flags: number;
}

/** LBA and TRANSFER LENGTH of a 6/10/12/16-byte block CDB (SBC-3 §5). */
export function decodeBlockCdb(cdb: Buffer, cdbLength: number): { lba: number | undefined; blocks: number; flags: number } {
  switch (cdbLength) {
    case 6: {
      const lba = ((cdb[1] & 0x1f) << 16) | cdb.readUInt16BE(2);
      return { lba, blocks: cdb[4] === 0 ? 256 : cdb[4], flags: 0 };
    }
    case 10:
      return { lba: cdb.readUInt32BE(2), blocks: cdb.readUInt16BE(7), flags: cdb[1] };
    case 12:
      return { lba: cdb.readUInt32BE(2), blocks: cdb.readUInt32BE(6), flags: cdb[1] };
    default:
      return { lba: readU64Safe(cdb, 2), blocks: cdb.readUInt32BE(10), flags: cdb[1] };
  }
}

/** Byte offset of the TRANSFER LENGTH field (for the sense field pointer). */
export function transferLengthOffset(cdbLength: number): number {
  return cdbLength === 6 ? 4 : cdbLength === 10 ? 7 : cdbLength === 12 ? 6 : 10;
}

/** SBC-3 §4.5 capacity check: the last block touched must exist. Also used for 0-block transfers. */
export function checkRange(lba: number | undefined, blocks: number, geometry: UnitGeometry): SenseFailure | undefined {
  if (lba === undefined || lba + blocks > geometry.blockCount) return failure(SenseReason.LbaOutOfRange);
  return undefined;
}

/**
 * Decode and validate a block CDB. `protectMustBeZero`: RDPROTECT/WRPROTECT/
 * VRPROTECT (byte 1 bits 7..5) must be 0 since no protection information is
 * supported (SBC-3 §5.8 table). `transferLimited`: the transfer length moves data
 * and must respect the Block Limits MAXIMUM TRANSFER LENGTH.
 */
export function parseBlockCdb(cdb: Buffer, cdbLength: number, geometry: UnitGeometry, transferLimited: boolean): BlockRequest | SenseFailure {
  const { lba, blocks, flags } = decodeBlockCdb(cdb, cdbLength);
  if (cdbLength !== 6 && (flags & 0xe0) !== 0) return invalidCdbField(1, 7);
  if (transferLimited && blocks > geometry.maxTransferBlocks) return invalidCdbField(transferLengthOffset(cdbLength), 7);
  const range = checkRange(lba, blocks, geometry);
  if (range) return range;
  return { lba: lba as number, blocks, flags };
}

/** Offset of the first differing byte, or -1. */
export function firstDifference(a: Buffer, b: Buffer): number {
  if (a.equals(b)) return -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** View the first `length` bytes of an iovec as one buffer (copies only when split). */
export function gather(buffers: readonly Buffer[], length: number): Buffer {
  if (buffers.length === 1 && buffers[0].length >= length) return buffers[0].subarray(0, length);
  const all = Buffer.concat(buffers as Buffer[]);
  return all.subarray(0, length);
}

/** The first `length` bytes of an iovec, without copying. */
export function trimIovec(buffers: readonly Buffer[], length: number): Buffer[] {
  const out: Buffer[] = [];
  let left = length;
  for (const b of buffers) {
    if (left <= 0) break;
    if (b.length <= left) {
      out.push(b);
      left -= b.length;
    } else {
      out.push(b.subarray(0, left));
      left = 0;
    }
  }
  return out;
}
