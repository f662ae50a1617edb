// Processing of block device to block device segments (SPC-4 §6.4, segment
// descriptor 02h): the copy manager resolves each segment's CSCDs to LUs this
// nexus can see, checks the segment against them and moves the data between
// their BlockDevices in bounded chunks, inside the target (no data crosses the
// network).
//
// Errors here are "detected during processing of segment descriptors" (SPC-2
// §7.2.3, kept by SPC-4) and reported as COPY ABORTED (copy-sense.ts).
//
// Ordering with other commands: each chunk is entered in the source and the
// destination task set with its block extent, so commands that arrive later and
// overlap it wait for it (task-set.ts). A chunk does not itself wait for
// commands already in flight: those may belong to tasks that wait for the
// EXTENDED COPY (ORDERED attribute) or for another copy's chunk on another LU,
// and SAM-5 leaves SIMPLE tasks unordered anyway.

import { ScsiStatus, type LunView, type Nexus } from '../api.js';
import { BackstoreIoError } from '../../backstore/types.js';
import { isWriteProtected, unitState, type LogicalUnitState } from '../logical-unit.js';
import { reservationConflict } from '../pr/conflict.js';
import { sanitizeCondition } from '../sbc/sanitize.js';
import { SenseReason } from '../sense.js';
import type { TaskEntry } from '../task-set.js';
import { CopySense, segmentFailure, targetSense, type ForwardedSource, type SegmentFailure } from './copy-sense.js';
import type { CopyRecord } from './copy-manager.js';
import { CSCD_ID_THIS_LU, type CopyLimits } from './limits.js';
import { Field, type BlockToBlockSegment, type CopyList, type Designator } from './parameter-list.js';

/** Task tag of the copy's internal I/O in a task set (initiator tags are 32-bit unsigned, so never -1). */
const COPY_IO_TAG = -1;

const DESIGNATOR_NAA = 0x3;
const CODE_SET_BINARY = 0x1;
const ASSOCIATION_LU = 0x0;

export interface CopyEnv {
  /** The LU that received the EXTENDED COPY and the write protection of the mapping it came through. */
  readonly unit: LogicalUnitState;
  readonly writeProtected: boolean;
  readonly view: LunView;
  readonly nexus: Nexus;
  /** Fires when the EXTENDED COPY itself is aborted. */
  readonly signal: AbortSignal;
  readonly limits: CopyLimits;
}

interface CopyTarget {
  readonly unit: LogicalUnitState;
  readonly writeProtected: boolean;
}

/** The LUs this nexus can see whose NAA designator (VPD 83h) matches (identification descriptor CSCD, E4h). */
function findByDesignator(view: LunView, d: Designator): CopyTarget | undefined {
  if (d.type !== DESIGNATOR_NAA || d.codeSet !== CODE_SET_BINARY || d.association !== ASSOCIATION_LU) return undefined;
  for (const m of view.list()) {
    const unit = unitState(m.unit);
    if (unit.naa.equals(d.value)) return { unit, writeProtected: isWriteProtected(unit, m.writeProtect) };
  }
  return undefined;
}

function resolve(list: CopyList, id: number, role: ForwardedSource, index: number, env: CopyEnv): CopyTarget | SegmentFailure {
  if (id === CSCD_ID_THIS_LU) return { unit: env.unit, writeProtected: env.writeProtected };
  const idField = role === 'source' ? Field.SegmentSource : Field.SegmentDestination;
  const cscd = list.cscds[id];
  if (cscd === undefined) return segmentFailure(CopySense.CopyTargetDeviceNotReachable, index, { pointer: { inSegment: true, byte: idField } });
  if (cscd.peripheralDeviceType !== 0x00) {
    return segmentFailure(CopySense.IncorrectCopyTargetDeviceType, index, { pointer: { inSegment: false, byte: cscd.offset + Field.CscdDeviceType } });
  }
  // LUs outside this initiator's LUN view are not reachable: copying must not bypass LUN masking.
  const target = findByDesignator(env.view, cscd.designator);
  if (target === undefined) return segmentFailure(CopySense.CopyTargetDeviceNotReachable, index, { pointer: { inSegment: false, byte: cscd.offset } });
  if (cscd.blockLength !== 0 && cscd.blockLength !== target.unit.device.blockSize) {
    return segmentFailure(CopySense.SegmentInvalidField, index, { pointer: { inSegment: false, byte: cscd.offset + Field.CscdBlockLength } });
  }
  return target;
}

/** What the copy target would have answered to our READ/WRITE: write protection, reservations (SBC-3 §4.11, SPC-4 §5.9). */
function accessFailure(t: CopyTarget, role: ForwardedSource, index: number, env: CopyEnv): SegmentFailure | undefined {
  const pointer = { inSegment: true, byte: role === 'source' ? Field.SegmentSource : Field.SegmentDestination };
  if (role === 'destination' && t.writeProtected) {
    return segmentFailure(CopySense.ThirdPartyDeviceFailure, index, {
      pointer,
      forwarded: { source: role, status: ScsiStatus.CheckCondition, sense: targetSense(SenseReason.WriteProtected) },
    });
  }
  // The dispatcher already applied the reservation rules to the LU that received the command.
  if (t.unit === env.unit) return undefined;
  const spc2 = t.unit.reservation !== undefined && t.unit.reservation !== env.nexus.id;
  if (spc2 || reservationConflict(t.unit.pr, env.nexus, role === 'source' ? 'read' : 'write')) {
    return segmentFailure(CopySense.ThirdPartyDeviceFailure, index, { pointer, forwarded: { source: role, status: ScsiStatus.ReservationConflict } });
  }
  return undefined;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

interface SegmentPlan {
  readonly bytes: number;
  readonly sourceLba: number;
  readonly destinationLba: number;
  /** Least common multiple of the two block sizes: chunks are multiples of it. */
  readonly alignment: number;
}

/** Check one segment against its copy targets; what to copy, or why it cannot run. */
function plan(seg: BlockToBlockSegment, src: CopyTarget, dst: CopyTarget, index: number, env: CopyEnv): SegmentPlan | SegmentFailure {
  const sbs = src.unit.device.blockSize;
  const dbs = dst.unit.device.blockSize;
  const bytes = seg.blocks * (seg.destinationCount ? dbs : sbs);
  if (bytes % sbs !== 0 || bytes % dbs !== 0) {
    return segmentFailure(CopySense.UnexpectedInexactSegment, index, { pointer: { inSegment: true, byte: Field.SegmentBlocks } });
  }
  if (bytes > env.limits.maxSegmentLength) {
    return segmentFailure(CopySense.SegmentInvalidField, index, { pointer: { inSegment: true, byte: Field.SegmentBlocks } });
  }
  // Out of range: COPY ABORTED with the segment pointer on the LBA, the copy
  // target's own LOGICAL BLOCK ADDRESS OUT OF RANGE forwarded. The ASC stays
  // NO ADDITIONAL SENSE INFORMATION: libiscsi (ExtendedCopy.ValidSegDescr)
  // accepts only that, UNREACHABLE COPY TARGET or COPY TARGET DEVICE NOT REACHABLE.
  const ranges: [ForwardedSource, number | undefined, number, CopyTarget, number][] = [
    ['source', seg.sourceLba, bytes / sbs, src, Field.SegmentSourceLba],
    ['destination', seg.destinationLba, bytes / dbs, dst, Field.SegmentDestinationLba],
  ];
  for (const [role, lba, blocks, t, byte] of ranges) {
    if (lba === undefined || lba + blocks > t.unit.device.blockCount) {
      return segmentFailure(CopySense.SegmentAborted, index, {
        pointer: { inSegment: true, byte },
        forwarded: { source: role, status: ScsiStatus.CheckCondition, sense: targetSense(SenseReason.LbaOutOfRange) },
      });
    }
  }
  return { bytes, sourceLba: seg.sourceLba ?? 0, destinationLba: seg.destinationLba ?? 0, alignment: (sbs * dbs) / gcd(sbs, dbs) };
}

function ioFailure(error: unknown, role: ForwardedSource, index: number): SegmentFailure {
  const io =
    error instanceof BackstoreIoError ||
    (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'TSGT_ERR_BACKSTORE_IO');
  const lba = io ? (error as BackstoreIoError).lba : undefined;
  const reason = !io ? SenseReason.HardwareError : role === 'source' ? SenseReason.MediumReadError : SenseReason.MediumWriteError;
  return segmentFailure(CopySense.ThirdPartyDeviceFailure, index, {
    pointer: { inSegment: true, byte: role === 'source' ? Field.SegmentSource : Field.SegmentDestination },
    forwarded: { source: role, status: ScsiStatus.CheckCondition, sense: targetSense(reason, Number.isSafeInteger(lba) ? lba : undefined) },
  });
}

/**
 * A copy target that cannot do medium access right now: no medium mounted, a
 * sanitize running or failed (SBC-4 §4.11). Checked per chunk: a sanitize may
 * start on another LU while a long copy runs.
 */
function notReady(t: CopyTarget, role: ForwardedSource, index: number): SegmentFailure | undefined {
  const sense = !t.unit.mediumPresent ? targetSense(SenseReason.MediumNotPresent) : sanitizeCondition(t.unit, true);
  if (sense === undefined) return undefined;
  return segmentFailure(CopySense.ThirdPartyDeviceFailure, index, { forwarded: { source: role, status: ScsiStatus.CheckCondition, sense } });
}

function chunkAborted(role: ForwardedSource, index: number): SegmentFailure {
  // A task management function on a copy target (LU reset, clear task set) aborted our I/O there.
  return segmentFailure(CopySense.ThirdPartyDeviceFailure, index, { forwarded: { source: role, status: ScsiStatus.TaskAborted } });
}

async function copySegment(
  p: SegmentPlan,
  src: CopyTarget,
  dst: CopyTarget,
  index: number,
  env: CopyEnv,
  record: CopyRecord,
): Promise<SegmentFailure | 'aborted' | undefined> {
  const sbs = src.unit.device.blockSize;
  const dbs = dst.unit.device.blockSize;
  const chunk = Math.max(p.alignment, Math.floor(env.limits.chunkBytes / p.alignment) * p.alignment);
  const offsets: number[] = [];
  for (let off = 0; off < p.bytes; off += chunk) offsets.push(off);
  // Same LU, destination after an overlapping source: copy back to front (like memmove).
  const srcStart = p.sourceLba * sbs;
  const dstStart = p.destinationLba * dbs;
  if (src.unit === dst.unit && dstStart > srcStart && dstStart < srcStart + p.bytes) offsets.reverse();
  const buffer = Buffer.alloc(Math.min(chunk, p.bytes));
  for (const off of offsets) {
    if (env.signal.aborted) return 'aborted';
    const refused = notReady(src, 'source', index) ?? notReady(dst, 'destination', index);
    if (refused !== undefined) return refused;
    const n = Math.min(chunk, p.bytes - off);
    const sl = p.sourceLba + off / sbs;
    const dl = p.destinationLba + off / dbs;
    const entries: [TaskEntry, TaskEntry] = [
      src.unit.tasks.enter(env.nexus.id, COPY_IO_TAG, 'head-of-queue', { lba: sl, blocks: n / sbs, write: false }).entry,
      dst.unit.tasks.enter(env.nexus.id, COPY_IO_TAG, 'head-of-queue', { lba: dl, blocks: n / dbs, write: true }).entry,
    ];
    try {
      let data: Buffer;
      try {
        data = await src.unit.device.read(sl, n / sbs, buffer);
      } catch (error) {
        return ioFailure(error, 'source', index);
      }
      if (entries[0].controller.signal.aborted) return chunkAborted('source', index);
      if (entries[1].controller.signal.aborted) return chunkAborted('destination', index);
      if (env.signal.aborted) return 'aborted';
      try {
        await dst.unit.device.write(dl, [data.subarray(0, n)]);
      } catch (error) {
        return ioFailure(error, 'destination', index);
      }
      if (entries[1].controller.signal.aborted) return chunkAborted('destination', index);
    } finally {
      src.unit.tasks.leave(entries[0]);
      dst.unit.tasks.leave(entries[1]);
    }
    record.bytesTransferred += n;
  }
  return undefined;
}

/** Process every segment in order; undefined when all completed. */
export async function runSegments(list: CopyList, env: CopyEnv, record: CopyRecord): Promise<SegmentFailure | 'aborted' | undefined> {
  for (let index = 0; index < list.segments.length; index++) {
    if (env.signal.aborted) return 'aborted';
    const seg = list.segments[index];
    const src = resolve(list, seg.source, 'source', index, env);
    if ('kind' in src) return src;
    const dst = resolve(list, seg.destination, 'destination', index, env);
    if ('kind' in dst) return dst;
    const denied = accessFailure(src, 'source', index, env) ?? accessFailure(dst, 'destination', index, env);
    if (denied !== undefined) return denied;
    const p = plan(seg, src, dst, index, env);
    if ('kind' in p) return p;
    if (p.bytes > 0) {
      const failed = await copySegment(p, src, dst, index, env, record);
      if (failed !== undefined) return failed;
    }
    record.segmentsProcessed++;
  }
  return undefined;
}
