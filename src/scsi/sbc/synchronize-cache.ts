// SYNCHRONIZE CACHE (10)/(16), SBC-3 §5.22/§5.23. The backstore only offers a
// whole-device flush, so the range is checked and then everything is flushed.
// IMMED is accepted; we still complete after the flush (allowed by SBC-3).

import { ScsiStatus } from '../api.js';
import { defineCommand, type AnyCommandSpec } from '../command.js';
import { checkRange, decodeBlockCdb } from './block-cdb.js';
import { isSenseFailure, type SenseFailure } from '../sense.js';

interface SyncParams {
  readonly lba: number;
  readonly blocks: number;
}

function parseSync(cdb: Buffer, size: 10 | 16, blockCount: number): SyncParams | SenseFailure {
  const { lba, blocks } = size === 10 ? { lba: cdb.readUInt32BE(2), blocks: cdb.readUInt16BE(7) } : decodeBlockCdb(cdb, 16);
  // NUMBER OF LOGICAL BLOCKS 0 means "through the last block".
  const count = blocks === 0 && lba !== undefined ? Math.max(0, blockCount - lba) : blocks;
  const bad = checkRange(lba, count, { blockCount, blockSize: 0, maxTransferBlocks: 0 });
  if (isSenseFailure(bad)) return bad;
  return { lba: lba as number, blocks: count };
}

function syncCommand(opcode: number, size: 10 | 16): AnyCommandSpec {
  return defineCommand<SyncParams>({
    name: `SYNCHRONIZE CACHE(${size})`,
    opcode,
    cdbLength: size,
    usage:
      size === 10
        ? [opcode, 0x02, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x00]
        : [opcode, 0x02, ...Array<number>(12).fill(0xff), 0x00, 0x00],
    modifiesMedium: false,
    allowedUnderReservation: false,
    parse: (cdb, g) => parseSync(cdb, size, g.blockCount),
    async execute(_p, ctx) {
      await ctx.unit.device.flush();
      return { status: ScsiStatus.Good };
    },
  });
}

export const synchronizeCacheCommands: readonly AnyCommandSpec[] = [syncCommand(0x35, 10), syncCommand(0x91, 16)];
