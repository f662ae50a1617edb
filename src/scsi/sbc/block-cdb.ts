// Common decoding of SBC-3 block-access CDBs (READ/WRITE/VERIFY 6/10/12/16).

import type { UnitGeometry } from '../command.js';
import type { BlockExtent } from '../task-set.js';
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
  const bad = checkBlockRequest(lba, blocks, flags, cdbLength, geometry, transferLimited);
  if (bad !== undefined) return bad;
  return { lba: lba as number, blocks, flags };
}

function checkBlockRequest(
  lba: number | undefined,
  blocks: number,
  flags: number,
  cdbLength: number,
  geometry: UnitGeometry,
  transferLimited: boolean,
): SenseFailure | undefined {
  if (cdbLength !== 6 && (flags & 0xe0) !== 0) return invalidCdbField(1, 7);
  if (transferLimited && blocks > geometry.maxTransferBlocks) return invalidCdbField(transferLengthOffset(cdbLength), 7);
  return checkRange(lba, blocks, geometry);
}

/** A READ or WRITE: the decoded CDB, which is also the extent it touches (one object per command, not two). */
export interface BlockIo extends BlockRequest, BlockExtent {}

/**
 * parseBlockCdb for READ/WRITE, whose result doubles as the task-set extent.
 * Decodes field by field so that only the result is allocated.
 */
export function parseBlockIo(cdb: Buffer, cdbLength: number, geometry: UnitGeometry, write: boolean): BlockIo | SenseFailure {
  let lba: number | undefined;
  let blocks: number;
  let flags: number;
  switch (cdbLength) {
    case 6:
      lba = ((cdb[1] & 0x1f) << 16) | cdb.readUInt16BE(2);
      blocks = cdb[4] === 0 ? 256 : cdb[4];
      flags = 0;
      break;
    case 10:
      lba = cdb.readUInt32BE(2);
      blocks = cdb.readUInt16BE(7);
      flags = cdb[1];
      break;
    case 12:
      lba = cdb.readUInt32BE(2);
      blocks = cdb.readUInt32BE(6);
      flags = cdb[1];
      break;
    default:
      lba = readU64Safe(cdb, 2);
      blocks = cdb.readUInt32BE(10);
      flags = cdb[1];
  }
  const bad = checkBlockRequest(lba, blocks, flags, cdbLength, geometry, true);
  if (bad !== undefined) return bad;
  return { lba: lba as number, blocks, flags, write };
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

/** trimIovec without a copy of the list when `buffers` already holds exactly `length` bytes (the usual write). */
export function iovecPrefix(buffers: readonly Buffer[], length: number): readonly Buffer[] {
  if (buffers.length === 1 && buffers[0].length === length) return buffers;
  let total = 0;
  for (const b of buffers) total += b.length;
  return total === length ? buffers : trimIovec(buffers, length);
}
