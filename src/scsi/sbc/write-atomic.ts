// WRITE ATOMIC (16), SBC-4 §5.48: the whole range is written or none of it,
// and no other command observes a partial result. The range goes to the
// backstore as one write, and as a task-set write extent no overlapping
// command runs concurrently with it (task-set.ts). The limits are those of VPD
// B0h (SBC-4 §6.6.4): MAXIMUM ATOMIC TRANSFER LENGTH, ATOMIC ALIGNMENT and
// ATOMIC TRANSFER LENGTH GRANULARITY; ATOMIC BOUNDARY is not supported
// (MAXIMUM ATOMIC BOUNDARY SIZE 0), so that field must be zero.

import { ScsiStatus } from '../api.js';
import { readU64Safe } from '../cdb.js';
import { defineCommand, type AnyCommandSpec, type UnitGeometry } from '../command.js';
import { invalidCdbField, type SenseFailure } from '../sense.js';
import { checkRange, trimIovec } from './block-cdb.js';
import { blockLimits, type BlockLimits } from './vpd-block-device.js';

export const WRITE_ATOMIC_16 = 0x9c;
const FUA = 0x08;
const TRANSFER_LENGTH_BYTE = 12;

export interface WriteAtomicParams {
  readonly lba: number;
  readonly blocks: number;
  readonly fua: boolean;
}

/**
 * SBC-4 §5.48: a transfer longer than MAXIMUM ATOMIC TRANSFER LENGTH, not a
 * multiple of ATOMIC TRANSFER LENGTH GRANULARITY, or starting at an LBA that
 * is not a multiple of ATOMIC ALIGNMENT is an INVALID FIELD IN CDB. A 0 limit
 * means "no requirement". Zero-length transfers are always acceptable.
 */
export function checkAtomicLimits(lba: number, blocks: number, limits: Pick<BlockLimits, 'maxAtomicTransferBlocks' | 'atomicAlignment' | 'atomicGranularity'>): SenseFailure | undefined {
  if (blocks === 0) return undefined;
  if (blocks > limits.maxAtomicTransferBlocks) return invalidCdbField(TRANSFER_LENGTH_BYTE, 7);
  if (limits.atomicGranularity > 1 && blocks % limits.atomicGranularity !== 0) return invalidCdbField(TRANSFER_LENGTH_BYTE, 7);
  if (limits.atomicAlignment > 1 && lba % limits.atomicAlignment !== 0) return invalidCdbField(2, 7);
  return undefined;
}

export function parseWriteAtomic(cdb: Buffer, geometry: UnitGeometry): WriteAtomicParams | SenseFailure {
  if ((cdb[1] & 0xe0) !== 0) return invalidCdbField(1, 7); // WRPROTECT: no protection information
  if (cdb.readUInt16BE(10) !== 0) return invalidCdbField(10, 7); // ATOMIC BOUNDARY
  const lba = readU64Safe(cdb, 2);
  const blocks = cdb.readUInt16BE(TRANSFER_LENGTH_BYTE);
  // Range first: a request running past the end is LBA OUT OF RANGE whatever its length.
  const range = checkRange(lba, blocks, geometry);
  if (range) return range;
  const bad = checkAtomicLimits(lba as number, blocks, blockLimits(geometry));
  if (bad) return bad;
  return { lba: lba as number, blocks, fua: (cdb[1] & FUA) !== 0 };
}

export const writeAtomic16Command: AnyCommandSpec = defineCommand<WriteAtomicParams>({
  name: 'WRITE ATOMIC(16)',
  opcode: WRITE_ATOMIC_16,
  cdbLength: 16,
  // byte 1: WRPROTECT, DPO, FUA; 2..9 LBA; 10..11 ATOMIC BOUNDARY; 12..13 TRANSFER LENGTH.
  usage: [WRITE_ATOMIC_16, 0xf8, ...Array<number>(12).fill(0xff), 0x00, 0x00],
  modifiesMedium: true,
  allowedUnderReservation: false,
  parse: parseWriteAtomic,
  dataOutLength: (p, g) => p.blocks * g.blockSize,
  // Not truncatable: writing only the blocks a short Data-Out covers would break atomicity.
  extent: (p) => ({ lba: p.lba, blocks: p.blocks, write: true }),
  async execute(p, ctx) {
    if (p.blocks === 0) return { status: ScsiStatus.Good };
    const bytes = p.blocks * ctx.unit.device.blockSize;
    await ctx.unit.device.write(p.lba, trimIovec(ctx.dataOut, bytes), { fua: p.fua });
    return { status: ScsiStatus.Good };
  },
});
