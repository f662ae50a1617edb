// SBC-3 VPD pages: B0h Block Limits (§6.5.3, atomic fields from SBC-4
// §6.6.4), B1h Block Device Characteristics (§6.5.2), B2h Logical Block
// Provisioning (§6.5.4).

import type { UnitGeometry } from '../command.js';
import type { LogicalUnitState } from '../logical-unit.js';
import { writeU64 } from '../cdb.js';
import { unitProvisioning } from './provisioning.js';

/** Largest WRITE SAME range we accept, in bytes (the command writes it in bounded chunks). */
export const MAX_WRITE_SAME_BYTES = 128 * 1024 * 1024;

/**
 * And in blocks: LIO's default max_write_same_len (DA_MAX_WRITE_SAME_LEN).
 * With 512-byte blocks this keeps WRITE SAME ranges to what initiators tuned
 * for LIO send, and below 65536 blocks, a range libiscsi (WriteSame16.Unmap)
 * would otherwise first write with one WRITE (16) larger than MAXIMUM
 * TRANSFER LENGTH.
 */
export const MAX_WRITE_SAME_BLOCKS = 0xffff;

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
    maxWriteSameBlocks: Math.max(1, Math.min(MAX_WRITE_SAME_BLOCKS, Math.floor(MAX_WRITE_SAME_BYTES / geometry.blockSize))),
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
  // OPTIMAL TRANSFER LENGTH GRANULARITY: one physical block (a shorter or
  // unaligned write is a read-modify-write on the medium underneath).
  b.writeUInt16BE(Math.min(0xffff, unit.blocksPerPhysicalBlock), 6);
  b.writeUInt32BE(limits.maxTransferBlocks, 8); // MAXIMUM TRANSFER LENGTH
  b.writeUInt32BE(limits.maxTransferBlocks, 12); // OPTIMAL TRANSFER LENGTH
  // 16..19 MAXIMUM PREFETCH LENGTH 0: no limit.
  // 20..35 unmap fields (SBC-3 §6.5.3): all 0 on a fully provisioned LU; the
  // counts stay 0 when only WRITE SAME may unmap (0 = UNMAP not supported).
  const prov = unitProvisioning(unit);
  b.writeUInt32BE(prov.maxUnmapLbaCount, 20); // MAXIMUM UNMAP LBA COUNT
  b.writeUInt32BE(prov.maxUnmapDescriptors, 24); // MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT
  if (prov.thin) {
    b.writeUInt32BE(prov.granularity, 28); // OPTIMAL UNMAP GRANULARITY
    // UGAVALID=1: deallocation units start at UNMAP GRANULARITY ALIGNMENT (file system blocks start at byte 0).
    b.writeUInt32BE((0x80000000 | prov.alignment) >>> 0, 32);
  }
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

/**
 * B2h Logical Block Provisioning (SBC-3 §6.5.4). Without `unit` (or for a
 * fully provisioned LU): THRESHOLD EXPONENT 0, LBPU/LBPWS/LBPWS10/LBPRZ 0 and
 * PROVISIONING TYPE 0, consistent with READ CAPACITY (16) LBPME=0, so WRITE
 * SAME with UNMAP=1 is refused (libiscsi WriteSame10/16.UnmapVPD: UNMAP
 * available ⇔ LBPME and LBPWS/LBPWS10).
 */
export function vpdLogicalBlockProvisioning(unit?: LogicalUnitState): Buffer {
  const b = Buffer.alloc(8);
  b[1] = 0xb2;
  b.writeUInt16BE(4, 2);
  if (unit === undefined) return b;
  const prov = unitProvisioning(unit);
  if (!prov.thin) return b;
  // byte 4 THRESHOLD EXPONENT 0: no thresholds. byte 5: LBPU, LBPWS, LBPWS10,
  // LBPRZ (bits 4..2, 001b: deallocated blocks read as zeros), ANC_SUP (bit
  // 1: UNMAP / WRITE SAME may anchor), DP=0.
  b[5] =
    (prov.unmapCommand ? 0x80 : 0) | (prov.writeSameUnmap ? 0x60 : 0) | (prov.readsZeroes ? 0x04 : 0) | (prov.anchorSupported ? 0x02 : 0);
  b[6] = 0x02; // PROVISIONING TYPE 010b: thin provisioned
  return b;
}
