// WRITE SAME (10) / (16), SBC-3 §5.42/§5.43 (NDOB from SBC-4 §5.54): one
// block of Data-Out (or zeros with NDOB) replicated over the range.
//
// Limits advertised in VPD B0h: WSNZ=0 (NUMBER OF LOGICAL BLOCKS 0 means "to
// the end of the medium") and MAXIMUM WRITE SAME LENGTH, which also bounds
// such an open-ended range. The range is checked before its length, so a
// request that runs off the medium is LBA OUT OF RANGE whatever its size.
//
// ANCHOR and UNMAP (SBC-4 Table "ANCHOR bit, UNMAP bit, and ANC_SUP bit
// relationships"; SBC-3 §5.42):
//   UNMAP=0 ANCHOR=0  write
//   UNMAP=0 ANCHOR=1  INVALID FIELD IN CDB, whatever the LU (checked at parse)
//   UNMAP=1 ANCHOR=0  unmap operation: deallocate on a thin LU
//   UNMAP=1 ANCHOR=1  ANC_SUP=0: INVALID FIELD IN CDB; ANC_SUP=1: anchor
// Both actions apply to every LBA of the range whatever the Data-Out block
// holds, as LIO and FreeBSD CTL do and libiscsi's WriteSame10.UnmapUntilEnd
// expects: the blocks then read as a deallocated block does (zeros with
// LBPRZ=1), anchored ones read as zeros and stay allocated. UNMAP=1 needs
// LBPWS/LBPWS10 (else INVALID FIELD IN CDB on the UNMAP bit); ANCHOR=1 with
// ANC_SUP=0 is refused first (on the ANCHOR bit), so a fully provisioned LU
// answers as before. Both need the LU and so are checked at execution.
// MAXIMUM WRITE SAME LENGTH bounds the range of every action (MAXIMUM UNMAP
// LBA COUNT is UNMAP's; SBC-4 and Linux's sd agree). The obsolete
// PBDATA/LBDATA bits and any WRPROTECT (no protection information) are
// refused.

import { ScsiStatus } from '../api.js';
import type { BlockDevice } from '../../backstore/types.js';
import { readU64Safe } from '../cdb.js';
import { defineCommand, type AnyCommandSpec, type UnitGeometry } from '../command.js';
import { failure, invalidCdbField, SenseReason, type SenseFailure } from '../sense.js';
import { checkRange, gather } from './block-cdb.js';
import { blockLimits } from './vpd-block-device.js';
import { unitProvisioning } from './provisioning.js';

/** Bytes per backstore write while replicating the pattern. */
export const WRITE_SAME_CHUNK_BYTES = 1024 * 1024;

const ANCHOR = 0x10;
const UNMAP = 0x08;
const PBDATA = 0x04;
const LBDATA = 0x02;
const NDOB = 0x01;

export interface WriteSameParams {
  readonly lba: number;
  readonly blocks: number;
  /** No Data-Out: the blocks are written with zeros (WRITE SAME (16) only). */
  readonly ndob: boolean;
  /** UNMAP=1: an unmap operation instead of writes (thin LU with LBPWS/LBPWS10 only). */
  readonly unmap: boolean;
  /** ANCHOR=1 (always with UNMAP=1): the unmap operation anchors (ANC_SUP=1 only). */
  readonly anchor: boolean;
}

export function parseWriteSame(cdb: Buffer, size: 10 | 16, geometry: UnitGeometry): WriteSameParams | SenseFailure {
  const flags = cdb[1];
  if ((flags & 0xe0) !== 0) return invalidCdbField(1, 7); // WRPROTECT
  if ((flags & (ANCHOR | UNMAP)) === ANCHOR) return invalidCdbField(1, 4); // ANCHOR=1 with UNMAP=0: Error in every case
  if ((flags & (PBDATA | LBDATA)) !== 0) return invalidCdbField(1, (flags & PBDATA) !== 0 ? 2 : 1);
  const lba = size === 10 ? cdb.readUInt32BE(2) : readU64Safe(cdb, 2);
  const requested = size === 10 ? cdb.readUInt16BE(7) : cdb.readUInt32BE(10);
  const lengthByte = size === 10 ? 7 : 10;
  const limits = blockLimits(geometry);
  let blocks = requested;
  if (requested === 0) {
    if (limits.writeSameNonZero) return invalidCdbField(lengthByte, 7);
    // WSNZ=0: 0 means "from LBA through the last logical block" (SBC-3 §5.42).
    if (lba === undefined || lba >= geometry.blockCount) return failure(SenseReason.LbaOutOfRange);
    blocks = geometry.blockCount - lba;
  } else {
    const range = checkRange(lba, blocks, geometry);
    if (range) return range;
  }
  if (blocks > limits.maxWriteSameBlocks) return invalidCdbField(lengthByte, 7);
  return { lba: lba as number, blocks, ndob: size === 16 && (flags & NDOB) !== 0, unmap: (flags & UNMAP) !== 0, anchor: (flags & ANCHOR) !== 0 };
}

function isAllZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * Write `pattern` (one block; undefined = zeros) to every block of the range,
 * through `writeZeroes` when the pattern is zeros and the backstore offers it,
 * otherwise in writes of at most WRITE_SAME_CHUNK_BYTES from one reused buffer.
 * Stops early (leaving the range partly written) once `signal` fires.
 */
export async function writeSameRange(device: BlockDevice, lba: number, blocks: number, pattern: Buffer | undefined, signal: AbortSignal): Promise<void> {
  if (blocks === 0) return;
  const bs = device.blockSize;
  if ((pattern === undefined || isAllZero(pattern)) && device.writeZeroes !== undefined) {
    await device.writeZeroes(lba, blocks);
    return;
  }
  const chunkBlocks = Math.max(1, Math.min(blocks, Math.floor(WRITE_SAME_CHUNK_BYTES / bs)));
  const chunk = Buffer.alloc(chunkBlocks * bs);
  if (pattern !== undefined) chunk.fill(pattern.subarray(0, bs));
  for (let done = 0; done < blocks; ) {
    if (signal.aborted) return;
    const n = Math.min(chunkBlocks, blocks - done);
    await device.write(lba + done, [n === chunkBlocks ? chunk : chunk.subarray(0, n * bs)]);
    done += n;
  }
}

function writeSameCommand(opcode: number, size: 10 | 16): AnyCommandSpec {
  return defineCommand<WriteSameParams>({
    name: `WRITE SAME(${size})`,
    opcode,
    cdbLength: size,
    usage:
      size === 10
        ? [opcode, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x00]
        : [opcode, 0xff, ...Array<number>(12).fill(0xff), 0x00, 0x00],
    modifiesMedium: true,
    allowedUnderReservation: false,
    parse: (cdb, g) => parseWriteSame(cdb, size, g),
    dataOutLength: (p, g) => (p.ndob ? 0 : g.blockSize),
    extent: (p) => ({ lba: p.lba, blocks: p.blocks, write: true }),
    async execute(p, ctx) {
      const device = ctx.unit.device;
      const bs = device.blockSize;
      const prov = unitProvisioning(ctx.unit);
      const anchor = p.anchor && prov.anchorSupported ? device.anchor?.bind(device) : undefined;
      if (p.anchor && anchor === undefined) return invalidCdbField(1, 4); // ANC_SUP=0
      if (p.unmap && !prov.writeSameUnmap) return invalidCdbField(1, 3); // LBPWS/LBPWS10=0
      let pattern: Buffer | undefined;
      if (!p.ndob) {
        // Exactly one block of Data-Out: fewer bytes are refused by the
        // dispatcher; more would leave the initiator's intent ambiguous.
        if (ctx.expectedDataLength !== bs) return failure(SenseReason.InvalidFieldInCommandIu);
        pattern = gather(ctx.dataOut, bs);
      }
      if (anchor !== undefined) {
        if (p.blocks > 0) await anchor([{ lba: p.lba, blocks: p.blocks }]);
      } else if (p.unmap && device.unmap !== undefined) {
        if (p.blocks > 0) await device.unmap([{ lba: p.lba, blocks: p.blocks }]);
      } else {
        await writeSameRange(device, p.lba, p.blocks, pattern, ctx.signal);
      }
      return { status: ScsiStatus.Good };
    },
  });
}

export const writeSameCommands: readonly AnyCommandSpec[] = [writeSameCommand(0x41, 10), writeSameCommand(0x93, 16)];
