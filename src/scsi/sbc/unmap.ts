// UNMAP (SBC-3 §5.28, parameter list §5.28.2): deallocate the LBAs named by
// up to MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT descriptors.
//
// Every descriptor is checked before anything is deallocated, so a refused
// command leaves the medium as it was:
// - PARAMETER LIST LENGTH 0: nothing to do, not an error; 1..7: PARAMETER
//   LIST LENGTH ERROR (no room for the 8-byte header).
// - The descriptors are the whole 16-byte units within both the UNMAP BLOCK
//   DESCRIPTOR DATA LENGTH and the parameter list ("the last UNMAP block
//   descriptor is incomplete and shall be ignored").
// - More descriptors than MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT, or more LBAs
//   in total than MAXIMUM UNMAP LBA COUNT: INVALID FIELD IN PARAMETER LIST.
// - A descriptor reaching past the last LBA: LBA OUT OF RANGE. A zero-length
//   descriptor at the capacity (LBA = number of blocks) is accepted.
// ANCHOR=1 ("any LBA on which an unmap operation is performed shall become
// anchored"): with ANC_SUP=1 the same checked ranges are anchored
// (BlockDevice.anchor: they read as zeros and stay allocated), under the same
// limits; with ANC_SUP=0 it is INVALID FIELD IN CDB, found before the
// parameter list is looked at. On a LU without LBPU the opcode is not
// supported (as LIO answers without emulate_tpu): not listed by REPORT
// SUPPORTED OPERATION CODES and refused before any Data-Out.

import { ScsiStatus } from '../api.js';
import type { BlockRange } from '../../backstore/types.js';
import { readU64Safe } from '../cdb.js';
import { defineCommand, type AnyCommandSpec } from '../command.js';
import { failure, invalidCdbField, invalidParameterField, isSenseFailure, SenseReason, type SenseFailure } from '../sense.js';
import { gather } from './block-cdb.js';
import { unitProvisioning } from './provisioning.js';

export const UNMAP = 0x42;
const HEADER = 8;
const DESCRIPTOR = 16;

export interface UnmapParams {
  readonly parameterListLength: number;
  /** ANCHOR=1: anchor the LBAs instead of deallocating them (needs ANC_SUP=1). */
  readonly anchor: boolean;
  /** Capacity when the CDB was parsed (the ordering extent covers the whole medium). */
  readonly blockCount: number;
}

export interface UnmapLimits {
  readonly blockCount: number;
  readonly maxDescriptors: number;
  readonly maxLbaCount: number;
}

export function parseUnmapCdb(cdb: Buffer, blockCount: number): UnmapParams | SenseFailure {
  return { parameterListLength: cdb.readUInt16BE(7), anchor: (cdb[1] & 0x01) !== 0, blockCount };
}

/** Decode and check an UNMAP parameter list; the ranges to deallocate or anchor (zero-length ones dropped). */
export function parseUnmapParameters(list: Buffer, limits: UnmapLimits): BlockRange[] | SenseFailure {
  if (list.length === 0) return [];
  if (list.length < HEADER) return failure(SenseReason.ParameterListLengthError);
  const descriptorBytes = Math.min(list.readUInt16BE(2), list.length - HEADER);
  const count = Math.floor(descriptorBytes / DESCRIPTOR);
  if (count > limits.maxDescriptors) return invalidParameterField(2, 7);
  const ranges: BlockRange[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const at = HEADER + i * DESCRIPTOR;
    const lba = readU64Safe(list, at);
    const blocks = list.readUInt32BE(at + 8);
    total += blocks;
    if (total > limits.maxLbaCount) return invalidParameterField(at + 8, 7);
    if (lba === undefined || lba + blocks > limits.blockCount) return failure(SenseReason.LbaOutOfRange);
    if (blocks > 0) ranges.push({ lba, blocks });
  }
  return ranges;
}

export const unmapCommand: AnyCommandSpec = defineCommand<UnmapParams>({
  name: 'UNMAP',
  opcode: UNMAP,
  cdbLength: 10,
  usage: [UNMAP, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00],
  modifiesMedium: true,
  allowedUnderReservation: false,
  available: (unit) => unitProvisioning(unit).unmapCommand,
  parse: (cdb, g) => parseUnmapCdb(cdb, g.blockCount),
  dataOutLength: (p) => p.parameterListLength,
  // The LBAs are only known from the parameter list: order against all overlapping I/O.
  extent: (p) => ({ lba: 0, blocks: p.blockCount, write: true }),
  async execute(p, ctx) {
    const device = ctx.unit.device;
    const prov = unitProvisioning(ctx.unit);
    if (!prov.unmapCommand || device.unmap === undefined) return failure(SenseReason.InvalidOpcode);
    const anchor = p.anchor && prov.anchorSupported ? device.anchor?.bind(device) : undefined;
    if (p.anchor && anchor === undefined) return invalidCdbField(1, 0); // ANC_SUP=0
    const list = p.parameterListLength === 0 ? Buffer.alloc(0) : gather(ctx.dataOut, Math.min(p.parameterListLength, ctx.dataOutLength));
    const ranges = parseUnmapParameters(list, {
      blockCount: device.blockCount,
      maxDescriptors: prov.maxUnmapDescriptors,
      maxLbaCount: prov.maxUnmapLbaCount,
    });
    if (isSenseFailure(ranges)) return ranges;
    if (ranges.length === 0) return { status: ScsiStatus.Good };
    await (anchor ? anchor(ranges) : device.unmap(ranges));
    return { status: ScsiStatus.Good };
  },
});
