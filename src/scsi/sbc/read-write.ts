// READ / WRITE (6/10/12/16) and WRITE AND VERIFY (10/12/16), SBC-3 §5.
// Zero-copy: reads return the backstore's buffer as Data-In, writes hand the
// transport's Data-Out iovec straight to the backstore.

import { ScsiStatus, type ScsiResult } from '../api.js';
import type { WriteOptions } from '../../backstore/types.js';
import { defineCommand, type AnyCommandSpec, type CommandContext, type UnitGeometry } from '../command.js';
import { failure, SenseReason } from '../sense.js';
import { firstDifference, gather, iovecPrefix, parseBlockCdb, parseBlockIo, type BlockIo, type BlockRequest } from './block-cdb.js';

const DPO = 0x10;
const FUA = 0x08;
const BYTCHK_WV = 0x02;

type Size = 6 | 10 | 12 | 16;

/** CDB USAGE DATA for a block CDB; `flags` = examined bits of byte 1. */
function blockUsage(opcode: number, size: Size, flags: number): number[] {
  switch (size) {
    case 6:
      return [opcode, 0x1f, 0xff, 0xff, 0xff, 0x00];
    case 10:
      return [opcode, flags, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x00];
    case 12:
      return [opcode, flags, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00];
    case 16:
      return [opcode, flags, ...Array<number>(12).fill(0xff), 0x00, 0x00];
  }
}

function readCommand(opcode: number, size: Size): AnyCommandSpec {
  return defineCommand<BlockIo>({
    name: `READ(${size})`,
    opcode,
    cdbLength: size,
    usage: blockUsage(opcode, size, 0xe0 | DPO | FUA | 0x02),
    modifiesMedium: false,
    allowedUnderReservation: false,
    parse: (cdb, g) => parseBlockIo(cdb, size, g, false),
    extent: (p) => p,
    // Not async (nor the write below): a page-cache hit then costs one promise, not a generator and two.
    execute(p, ctx) {
      const bs = ctx.unit.device.blockSize;
      const full = p.blocks * bs;
      // Only read what the transport can send (EDTL); the residual comes from transferLength.
      const wanted = Math.min(p.blocks, Math.ceil(ctx.expectedDataLength / bs));
      if (wanted === 0) return Promise.resolve({ status: ScsiStatus.Good, transferLength: full });
      const device = ctx.unit.device;
      if (device.fileExtent !== undefined && ctx.dataInExtent?.(wanted * bs) === true) {
        // A range error thrown here becomes sense data in dispatch, as a rejected read would.
        const extent = device.fileExtent(p.lba, wanted);
        if (extent !== undefined) return Promise.resolve({ status: ScsiStatus.Good, extent, transferLength: full });
      }
      return device
        .read(p.lba, wanted, ctx.dataInBuffer?.(wanted * bs))
        .then((data): ScsiResult => ({ status: ScsiStatus.Good, data, transferLength: full }));
    },
  });
}

/** Bytes of Data-Out a block write CDB calls for. */
const blockBytes = (p: BlockRequest, g: UnitGeometry): number => p.blocks * g.blockSize;

const FUA_WRITE: WriteOptions = Object.freeze({ fua: true });
const CACHED_WRITE: WriteOptions = Object.freeze({ fua: false });

/** Write the whole blocks of Data-Out received (see dispatch.ts for EDTL < SPDTL); resolves to the block count. */
function writeReceived(p: BlockRequest, ctx: CommandContext, fua: boolean): Promise<void> | undefined {
  const bs = ctx.unit.device.blockSize;
  const blocks = Math.floor(ctx.dataOutLength / bs);
  if (blocks === 0) return undefined;
  return ctx.unit.device.write(p.lba, iovecPrefix(ctx.dataOut, blocks * bs), fua ? FUA_WRITE : CACHED_WRITE);
}

async function doWrite(p: BlockRequest, ctx: CommandContext, fua: boolean): Promise<number> {
  await writeReceived(p, ctx, fua);
  return Math.floor(ctx.dataOutLength / ctx.unit.device.blockSize);
}

const good = (): ScsiResult => ({ status: ScsiStatus.Good });

function writeCommand(opcode: number, size: Size): AnyCommandSpec {
  return defineCommand<BlockIo>({
    name: `WRITE(${size})`,
    opcode,
    cdbLength: size,
    usage: blockUsage(opcode, size, 0xe0 | DPO | FUA | 0x02),
    modifiesMedium: true,
    allowedUnderReservation: false,
    parse: (cdb, g) => parseBlockIo(cdb, size, g, true),
    dataOutLength: blockBytes,
    truncatableDataOut: true,
    extent: (p) => p,
    releasesDataOut: true,
    execute(p, ctx) {
      const written = writeReceived(p, ctx, (p.flags & FUA) !== 0);
      return written === undefined ? Promise.resolve(good()) : written.then(good);
    },
  });
}

/** WRITE AND VERIFY (SBC-3 §5.34): write durably, then read back and compare when BYTCHK=1. */
function writeAndVerifyCommand(opcode: number, size: Exclude<Size, 6>): AnyCommandSpec {
  return defineCommand<BlockRequest>({
    name: `WRITE AND VERIFY(${size})`,
    opcode,
    cdbLength: size,
    usage: blockUsage(opcode, size, 0xe0 | DPO | BYTCHK_WV),
    modifiesMedium: true,
    allowedUnderReservation: false,
    parse: (cdb, g) => parseBlockCdb(cdb, size, g, true),
    dataOutLength: blockBytes,
    truncatableDataOut: true,
    extent: (p) => ({ lba: p.lba, blocks: p.blocks, write: true }),
    async execute(p, ctx) {
      const blocks = await doWrite(p, ctx, true);
      if ((p.flags & BYTCHK_WV) !== 0 && blocks > 0) {
        const bytes = blocks * ctx.unit.device.blockSize;
        const medium = await ctx.unit.device.read(p.lba, blocks);
        const at = firstDifference(gather(ctx.dataOut, bytes), medium.subarray(0, bytes));
        if (at >= 0) return failure(SenseReason.MiscompareDuringVerify, { information: at });
      }
      return { status: ScsiStatus.Good };
    },
  });
}

export const readWriteCommands: readonly AnyCommandSpec[] = [
  readCommand(0x08, 6),
  readCommand(0x28, 10),
  readCommand(0xa8, 12),
  readCommand(0x88, 16),
  writeCommand(0x0a, 6),
  writeCommand(0x2a, 10),
  writeCommand(0xaa, 12),
  writeCommand(0x8a, 16),
  writeAndVerifyCommand(0x2e, 10),
  writeAndVerifyCommand(0xae, 12),
  writeAndVerifyCommand(0x8e, 16),
];
