// GET LBA STATUS (SBC-3 §5.7): SERVICE ACTION IN (16) / 12h. LBA status
// descriptors (§5.7.2) from STARTING LOGICAL BLOCK ADDRESS on, each an extent
// of LBAs that are all mapped (PROVISIONING STATUS 0) or all deallocated (1).
//
// The first descriptor starts at the requested LBA. As many descriptors are
// returned as fit in the ALLOCATION LENGTH (at least one, at most
// MAX_LBA_STATUS_DESCRIPTORS), and PARAMETER DATA LENGTH counts exactly those:
// the initiator asks again from the end of the last one for more (SBC-3 lets
// the device server stop before the last LBA). On a fully provisioned LU, or
// a device that cannot tell, every LBA is mapped: one descriptor to the end.
// A starting LBA past the last LBA is LBA OUT OF RANGE.
//
// Anchored LBAs (UNMAP / WRITE SAME with ANCHOR=1) are reported 0h, which
// SBC-3 defines as "each LBA in the LBA extent is mapped or has an unknown
// state": tsgt cannot tell an anchored extent from a written one (anchoring
// stores allocated zeros, and nothing marks them after a later write or a
// restart), so it never claims 2h (anchored); and because anchoring
// allocates, an anchored LBA is never reported 1h (deallocated) either.

import type { BlockDevice, LbaExtent } from '../../backstore/types.js';
import { dataIn, readU64Safe, writeU64 } from '../cdb.js';
import { defineCommand, type AnyCommandSpec } from '../command.js';
import { failure, SenseReason, type SenseFailure } from '../sense.js';
import { SERVICE_ACTION_IN_16 } from './read-capacity.js';
import { unitProvisioning } from './provisioning.js';

export const SA_GET_LBA_STATUS = 0x12;
/** Upper bound on descriptors per command, whatever the allocation length (bounds the allocation walk). */
export const MAX_LBA_STATUS_DESCRIPTORS = 1024;
const HEADER = 8;
const DESCRIPTOR = 16;
/** EXTENT LENGTH is 32 bits. */
const MAX_EXTENT = 0xffffffff;

export const PROVISIONING_MAPPED = 0;
export const PROVISIONING_DEALLOCATED = 1;

export interface GetLbaStatusParams {
  readonly lba: number;
  readonly allocationLength: number;
  readonly blockCount: number;
}

export function parseGetLbaStatus(cdb: Buffer, blockCount: number): GetLbaStatusParams | SenseFailure {
  const lba = readU64Safe(cdb, 2);
  if (lba === undefined || lba >= blockCount) return failure(SenseReason.LbaOutOfRange);
  return { lba, allocationLength: cdb.readUInt32BE(10), blockCount };
}

/** Descriptors that fit `allocationLength` (never fewer than one). */
export function descriptorBudget(allocationLength: number): number {
  return Math.max(1, Math.min(MAX_LBA_STATUS_DESCRIPTORS, Math.floor((allocationLength - HEADER) / DESCRIPTOR)));
}

/** Extents of [lba, end of medium), at most `max` of them, none longer than EXTENT LENGTH can say. */
export async function lbaExtents(device: BlockDevice, thin: boolean, lba: number, max: number): Promise<LbaExtent[]> {
  const blocks = device.blockCount - lba;
  const raw = thin && device.lbaStatus !== undefined ? await device.lbaStatus(lba, blocks, max) : [{ lba, blocks, mapped: true }];
  const out: LbaExtent[] = [];
  for (const e of raw) {
    for (let at = e.lba, left = e.blocks; left > 0 && out.length < max; ) {
      const n = Math.min(left, MAX_EXTENT);
      out.push({ lba: at, blocks: n, mapped: e.mapped });
      at += n;
      left -= n;
    }
    if (out.length >= max) break;
  }
  return out;
}

export function encodeLbaStatus(extents: readonly LbaExtent[]): Buffer {
  const b = Buffer.alloc(HEADER + extents.length * DESCRIPTOR);
  b.writeUInt32BE(b.length - 4, 0); // PARAMETER DATA LENGTH: the bytes after this field
  extents.forEach((e, i) => {
    const at = HEADER + i * DESCRIPTOR;
    writeU64(b, at, e.lba);
    b.writeUInt32BE(e.blocks, at + 8);
    b[at + 12] = e.mapped ? PROVISIONING_MAPPED : PROVISIONING_DEALLOCATED;
  });
  return b;
}

export const getLbaStatusCommand: AnyCommandSpec = defineCommand<GetLbaStatusParams>({
  name: 'GET LBA STATUS',
  opcode: SERVICE_ACTION_IN_16,
  serviceAction: SA_GET_LBA_STATUS,
  cdbLength: 16,
  usage: [SERVICE_ACTION_IN_16, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
  modifiesMedium: false,
  allowedUnderReservation: false,
  parse: (cdb, g) => parseGetLbaStatus(cdb, g.blockCount),
  // Reads the allocation state: wait for overlapping writes in flight.
  extent: (p) => ({ lba: p.lba, blocks: p.blockCount - p.lba, write: false }),
  async execute(p, ctx) {
    const device = ctx.unit.device;
    if (p.lba >= device.blockCount) return failure(SenseReason.LbaOutOfRange);
    const extents = await lbaExtents(device, unitProvisioning(ctx.unit).thin, p.lba, descriptorBudget(p.allocationLength));
    return dataIn(encodeLbaStatus(extents), p.allocationLength);
  },
});
