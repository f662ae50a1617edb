// PRE-FETCH (10) / (16), SBC-3 §5.11/§5.12. The backstore offers no cache
// the device server controls, so nothing is guaranteed to be resident: after
// the range check the command completes with GOOD (SBC-3: CONDITION MET only
// when all the blocks will be in the cache; libiscsi's Prefetch tests expect GOOD).
// PREFETCH LENGTH 0 means "through the last logical block". IMMED is accepted.

import { ScsiStatus } from '../api.js';
import { readU64Safe } from '../cdb.js';
import { defineCommand, type AnyCommandSpec, type UnitGeometry } from '../command.js';
import { failure, SenseReason, type SenseFailure } from '../sense.js';
import { checkRange } from './block-cdb.js';

export interface PrefetchParams {
  readonly lba: number;
  readonly blocks: number;
  readonly immed: boolean;
}

export function parsePrefetch(cdb: Buffer, size: 10 | 16, geometry: UnitGeometry): PrefetchParams | SenseFailure {
  const lba = size === 10 ? cdb.readUInt32BE(2) : readU64Safe(cdb, 2);
  const length = size === 10 ? cdb.readUInt16BE(7) : cdb.readUInt32BE(10);
  if (lba === undefined || lba >= geometry.blockCount) return failure(SenseReason.LbaOutOfRange);
  const blocks = length === 0 ? geometry.blockCount - lba : length;
  const range = checkRange(lba, blocks, geometry);
  if (range) return range;
  return { lba, blocks, immed: (cdb[1] & 0x02) !== 0 };
}

function prefetchCommand(opcode: number, size: 10 | 16): AnyCommandSpec {
  return defineCommand<PrefetchParams>({
    name: `PRE-FETCH(${size})`,
    opcode,
    cdbLength: size,
    usage:
      size === 10
        ? [opcode, 0x02, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x00]
        : [opcode, 0x02, ...Array<number>(12).fill(0xff), 0x00, 0x00],
    modifiesMedium: false,
    allowedUnderReservation: false,
    parse: (cdb, g) => parsePrefetch(cdb, size, g),
    async execute() {
      return { status: ScsiStatus.Good };
    },
  });
}

export const prefetchCommands: readonly AnyCommandSpec[] = [prefetchCommand(0x34, 10), prefetchCommand(0x90, 16)];
