// SBC-3 VPD pages: B0h Block Limits (§6.5.3, atomic fields from SBC-4
// §6.6.4), B1h Block Device Characteristics (§6.5.2), B2h Logical Block
// Provisioning (§6.5.4).

import type { UnitGeometry } from '../command.js';
import type { LogicalUnitState } from '../logical-unit.js';
import { writeU64 } from '../cdb.js';

/** Largest WRITE SAME range we accept, in bytes (the command writes it in bounded chunks). */
export const MAX_WRITE_SAME_BYTES = 128 * 1024 * 1024;

/** NUMBER OF LOGICAL BLOCKS of COMPARE AND WRITE is one byte: 255 is its ceiling. */
export const MAX_COMPARE_AND_WRITE_BLOCKS = 255;

/** The limits this device server enforces; one source for VPD B0h and the command parsers. */
export interface BlockLimits {
  /** WSNZ: WRITE SAME with NUMBER OF LOGICAL BLOCKS 0 is rejected (else it means "to the last block"). */
  readonly writeSameNonZero: boolean;
  readonly maxCompareAndWriteBlocks: number;
  readonly maxTransferBlocks: number;
  readonly maxWriteSameBlocks: number;
  /** WRITE ATOMIC (16): MAXIMUM ATOMIC TRANSFER LENGTH (blocks). */
  readonly maxAtomicTransferBlocks: number;
  /** ATOMIC ALIGNMENT (0: none). */
  readonly atomicAlignment: number;
  /** ATOMIC TRANSFER LENGTH GRANULARITY (0: none). */
  readonly atomicGranularity: number;
}

export function blockLimits(geometry: Pick<UnitGeometry, 'blockSize' | 'maxTransferBlocks'>): BlockLimits {
  const maxTransferBlocks = geometry.maxTransferBlocks;
  return {
    writeSameNonZero: false,
    // The Data-Out of COMPARE AND WRITE is twice the range and must fit one transfer.
    maxCompareAndWriteBlocks: Math.max(1, Math.min(MAX_COMPARE_AND_WRITE_BLOCKS, Math.floor(maxTransferBlocks / 2))),
    maxTransferBlocks,
    maxWriteSameBlocks: Math.max(1, Math.floor(MAX_WRITE_SAME_BYTES / geometry.blockSize)),
    // One backstore write of a range that the task set serialises against every
    // overlapping command: atomic as seen by initiators (not across power loss).
    maxAtomicTransferBlocks: maxTransferBlocks,
    atomicAlignment: 0,
    atomicGranularity: 0,
  };
}

export function vpdBlockLimits(unit: LogicalUnitState): Buffer {
  const limits = blockLimits({ blockSize: unit.device.blockSize, maxTransferBlocks: unit.maxTransferBlocks });
  const b = Buffer.alloc(64);
  b[1] = 0xb0;
  b.writeUInt16BE(0x3c, 2);
  b[4] = limits.writeSameNonZero ? 0x01 : 0x00; // WSNZ
  b[5] = limits.maxCompareAndWriteBlocks;
  b.writeUInt16BE(1, 6); // OPTIMAL TRANSFER LENGTH GRANULARITY
  b.writeUInt32BE(limits.maxTransferBlocks, 8); // MAXIMUM TRANSFER LENGTH
  b.writeUInt32BE(limits.maxTransferBlocks, 12); // OPTIMAL TRANSFER LENGTH
  // 16..19 MAXIMUM PREFETCH LENGTH 0: no limit. 20..35 unmap fields 0: no UNMAP.
  writeU64(b, 36, limits.maxWriteSameBlocks); // MAXIMUM WRITE SAME LENGTH
  b.writeUInt32BE(limits.maxAtomicTransferBlocks, 44);
  b.writeUInt32BE(limits.atomicAlignment, 48);
  b.writeUInt32BE(limits.atomicGranularity, 52);
  // 56..63: no atomic boundary support (WRITE ATOMIC's ATOMIC BOUNDARY must be 0).
  return b;
}

export function vpdBlockDeviceCharacteristics(): Buffer {
  const b = Buffer.alloc(64);
  b[1] = 0xb1;
  b.writeUInt16BE(0x3c, 2);
  b.writeUInt16BE(0x0001, 4); // MEDIUM ROTATION RATE: non-rotating medium
  // byte 7 NOMINAL FORM FACTOR 0: not reported
  return b;
}

export function vpdLogicalBlockProvisioning(): Buffer {
  const b = Buffer.alloc(8);
  b[1] = 0xb2;
  b.writeUInt16BE(4, 2);
  // THRESHOLD EXPONENT 0, LBPU/LBPWS/LBPWS10 0, PROVISIONING TYPE 0 (fully provisioned).
  // READ CAPACITY (16) reports LBPME=0, so WRITE SAME with UNMAP=1 is refused
  // (libiscsi WriteSame10/16.UnmapVPD: UNMAP available ⇔ LBPME and LBPWS/LBPWS10).
  return b;
}
