// VERIFY (10/12/16), SBC-3 §5.29–5.31. BYTCHK 00b: medium verification only
// (read the blocks); 01b: compare against Data-Out; 11b: compare one block of
// Data-Out against every block in the range (SBC-4). 10b is reserved.

import { ScsiStatus } from '../api.js';
import { defineCommand, type AnyCommandSpec, type UnitGeometry } from '../command.js';
import { failure, invalidCdbField, isSenseFailure, SenseReason, type SenseFailure } from '../sense.js';
import { firstDifference, gather, parseBlockCdb, type BlockRequest } from './block-cdb.js';

interface VerifyParams extends BlockRequest {
  readonly bytchk: 0 | 1 | 3;
}

function parseVerify(cdb: Buffer, size: number, g: UnitGeometry): VerifyParams | SenseFailure {
  const bytchk = (cdb[1] >> 1) & 0x03;
  if (bytchk === 2) return invalidCdbField(1, 2);
  // Only a byte-by-byte comparison moves data, so only then does MAXIMUM TRANSFER LENGTH apply.
  const req = parseBlockCdb(cdb, size, g, bytchk === 1);
  if (isSenseFailure(req)) return req;
  return { ...req, bytchk: bytchk as 0 | 1 | 3 };
}

function verifyCommand(opcode: number, size: 10 | 12 | 16): AnyCommandSpec {
  const usage =
    size === 10
      ? [opcode, 0xf6, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x00]
      : size === 12
        ? [opcode, 0xf6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00]
        : [opcode, 0xf6, ...Array<number>(12).fill(0xff), 0x00, 0x00];
  return defineCommand<VerifyParams>({
    name: `VERIFY(${size})`,
    opcode,
    cdbLength: size,
    usage,
    modifiesMedium: false,
    allowedUnderReservation: false,
    parse: (cdb, g) => parseVerify(cdb, size, g),
    dataOutLength: (p, g) => (p.bytchk === 0 || p.blocks === 0 ? 0 : p.bytchk === 1 ? p.blocks * g.blockSize : g.blockSize),
    extent: (p) => ({ lba: p.lba, blocks: p.blocks, write: false }),
    async execute(p, ctx) {
      const device = ctx.unit.device;
      const bs = device.blockSize;
      if (p.blocks === 0) return { status: ScsiStatus.Good };
      if (p.bytchk === 1) {
        const expected = gather(ctx.dataOut, p.blocks * bs);
        const medium = await device.read(p.lba, p.blocks);
        const at = firstDifference(expected, medium.subarray(0, p.blocks * bs));
        return at < 0 ? { status: ScsiStatus.Good } : failure(SenseReason.MiscompareDuringVerify, { information: at });
      }
      // BYTCHK 00b / 11b: walk the range in MAXIMUM TRANSFER LENGTH chunks.
      const pattern = p.bytchk === 3 ? gather(ctx.dataOut, bs) : undefined;
      for (let done = 0; done < p.blocks; ) {
        if (ctx.signal.aborted) return { status: ScsiStatus.Good };
        const n = Math.min(ctx.unit.maxTransferBlocks, p.blocks - done);
        const medium = await device.read(p.lba + done, n);
        if (pattern !== undefined) {
          for (let i = 0; i < n; i++) {
            const at = firstDifference(pattern, medium.subarray(i * bs, (i + 1) * bs));
            if (at >= 0) return failure(SenseReason.MiscompareDuringVerify, { information: (done + i) * bs + at });
          }
        }
        done += n;
      }
      return { status: ScsiStatus.Good };
    },
  });
}

export const verifyCommands: readonly AnyCommandSpec[] = [verifyCommand(0x2f, 10), verifyCommand(0xaf, 12), verifyCommand(0x8f, 16)];
