// ORWRITE (16), SBC-3 §5.10: read the range, OR the Data-Out into it, write
// it back. ORWRITE (16) has no BMOP / generation fields (those belong to
// ORWRITE (32), not implemented): the operation is always OR. It is declared a
// write over its range, so the task set keeps overlapping commands out of the
// read-modify-write. ORPROTECT ≠ 0 is refused (no protection information).

import { ScsiStatus } from '../api.js';
import { defineCommand, type AnyCommandSpec } from '../command.js';
import { parseBlockCdb, trimIovec, type BlockRequest } from './block-cdb.js';

export const ORWRITE_16 = 0x8b;
const FUA = 0x08;

/** OR the iovec `data` (back to back) into `target` in place. */
export function orInto(target: Buffer, data: readonly Buffer[]): void {
  let at = 0;
  for (const b of data) {
    const n = Math.min(b.length, target.length - at);
    for (let i = 0; i < n; i++) target[at + i] |= b[i];
    at += n;
    if (at >= target.length) return;
  }
}

export const orwriteCommand: AnyCommandSpec = defineCommand<BlockRequest>({
  name: 'ORWRITE(16)',
  opcode: ORWRITE_16,
  cdbLength: 16,
  // byte 1: ORPROTECT, DPO, FUA.
  usage: [ORWRITE_16, 0xf8, ...Array<number>(12).fill(0xff), 0x00, 0x00],
  modifiesMedium: true,
  allowedUnderReservation: false,
  parse: (cdb, g) => parseBlockCdb(cdb, 16, g, true),
  dataOutLength: (p, g) => p.blocks * g.blockSize,
  truncatableDataOut: true,
  extent: (p) => ({ lba: p.lba, blocks: p.blocks, write: true }),
  async execute(p, ctx) {
    const device = ctx.unit.device;
    const blocks = Math.floor(ctx.dataOutLength / device.blockSize);
    if (blocks === 0) return { status: ScsiStatus.Good };
    const bytes = blocks * device.blockSize;
    // Read into our own buffer: the backstore's buffer may not be ours to modify.
    const merged = (await device.read(p.lba, blocks, Buffer.alloc(bytes))).subarray(0, bytes);
    orInto(merged, trimIovec(ctx.dataOut, bytes));
    await device.write(p.lba, [merged], { fua: (p.flags & FUA) !== 0 });
    return { status: ScsiStatus.Good };
  },
});
