// COMPARE AND WRITE, SBC-3 §5.2. The Data-Out holds NUMBER OF LOGICAL BLOCKS
// of verify data followed by as many blocks of write data. The medium is read
// and compared with the verify data; on a match the write data is written,
// otherwise the command ends with MISCOMPARE (0Eh / 1D00h) and the INFORMATION
// field holds the offset of the first differing byte (SBC-3 §5.2, VALID=1).
//
// Atomicity: the command is declared a write over its range, so the task set
// (task-set.ts) runs it only after every older overlapping command has left and
// holds back every younger overlapping command (from any I_T nexus) until it
// completes; the read-compare-write is therefore indivisible for everyone but
// HEAD OF QUEUE tasks, which SAM-5 lets bypass ordering.

import { ScsiStatus } from '../api.js';
import { readU64Safe } from '../cdb.js';
import { defineCommand, type AnyCommandSpec, type UnitGeometry } from '../command.js';
import { failure, invalidCdbField, SenseReason, type SenseFailure } from '../sense.js';
import { checkRange, firstDifference, gather } from './block-cdb.js';
import { blockLimits } from './vpd-block-device.js';

export const COMPARE_AND_WRITE = 0x89;
const FUA = 0x08;
/** Byte of NUMBER OF LOGICAL BLOCKS. */
const NLB_BYTE = 13;

export interface CompareAndWriteParams {
  readonly lba: number;
  readonly blocks: number;
  readonly fua: boolean;
}

export function parseCompareAndWrite(cdb: Buffer, geometry: UnitGeometry): CompareAndWriteParams | SenseFailure {
  if ((cdb[1] & 0xe0) !== 0) return invalidCdbField(1, 7); // WRPROTECT: no protection information
  const lba = readU64Safe(cdb, 2);
  const blocks = cdb[NLB_BYTE];
  if (blocks > blockLimits(geometry).maxCompareAndWriteBlocks) return invalidCdbField(NLB_BYTE, 7);
  const range = checkRange(lba, blocks, geometry);
  if (range) return range;
  return { lba: lba as number, blocks, fua: (cdb[1] & FUA) !== 0 };
}

/** The bytes [start, start+length) of an iovec, without copying. */
export function sliceIovec(buffers: readonly Buffer[], start: number, length: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = start;
  let left = length;
  for (const b of buffers) {
    if (left <= 0) break;
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    const part = b.subarray(skip, Math.min(b.length, skip + left));
    skip = 0;
    left -= part.length;
    out.push(part);
  }
  return out;
}

export const compareAndWriteCommand: AnyCommandSpec = defineCommand<CompareAndWriteParams>({
  name: 'COMPARE AND WRITE',
  opcode: COMPARE_AND_WRITE,
  cdbLength: 16,
  // byte 1: WRPROTECT, DPO, FUA; bytes 2..9 LBA; byte 13 NUMBER OF LOGICAL BLOCKS.
  usage: [COMPARE_AND_WRITE, 0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00],
  modifiesMedium: true,
  allowedUnderReservation: false,
  parse: parseCompareAndWrite,
  dataOutLength: (p, g) => 2 * p.blocks * g.blockSize,
  extent: (p) => (p.blocks === 0 ? undefined : { lba: p.lba, blocks: p.blocks, write: true }),
  async execute(p, ctx) {
    const device = ctx.unit.device;
    const half = p.blocks * device.blockSize;
    // The split between verify and write data follows from NUMBER OF LOGICAL
    // BLOCKS; a Data-Out of any other size (EDTL below 2n blocks is already
    // refused by the dispatcher) means the CDB does not describe the buffer,
    // e.g. a 256-block request whose one-byte length wrapped to 0.
    if (ctx.expectedDataLength !== 2 * half) return invalidCdbField(NLB_BYTE, 7);
    if (p.blocks === 0) return { status: ScsiStatus.Good };
    const verify = gather(sliceIovec(ctx.dataOut, 0, half), half);
    const medium = await device.read(p.lba, p.blocks);
    const at = firstDifference(verify, medium.subarray(0, half));
    if (at >= 0) return failure(SenseReason.MiscompareDuringVerify, { information: at });
    await device.write(p.lba, sliceIovec(ctx.dataOut, half, half), { fua: p.fua });
    return { status: ScsiStatus.Good };
  },
});
