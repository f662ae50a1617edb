// RECEIVE COPY RESULTS, opcode 84h (SPC-3 §6.17, the LID1 service actions of
// SPC-4): OPERATING PARAMETERS, COPY STATUS and FAILED SEGMENT DETAILS for
// EXTENDED COPY (LID1). Unsupported service actions (RECEIVE DATA, the LID4
// ones) fail in the dispatcher with INVALID FIELD IN CDB: no spec is
// registered for them.

import { dataIn } from '../cdb.js';
import { defineCommand, type AnyCommandSpec } from '../command.js';
import { invalidCdbField, type SenseFailure } from '../sense.js';
import { failureReported, findCopy, statusReported, type CopyManager, type CopyRecord } from '../xcopy/copy-manager.js';
import { COPY_LIMITS, IMPLEMENTED_DESCRIPTOR_CODES, type CopyLimits } from '../xcopy/limits.js';

export const RECEIVE_COPY_RESULTS = 0x84;
export const SA_COPY_STATUS = 0x00;
export const SA_OPERATING_PARAMETERS = 0x03;
export const SA_FAILED_SEGMENT_DETAILS = 0x04;

export interface RcrParams {
  readonly listId: number;
  readonly allocationLength: number;
}

function parseRcr(cdb: Buffer): RcrParams {
  return { listId: cdb[2], allocationLength: cdb.readUInt32BE(10) };
}

function log2(n: number): number {
  return Number.isInteger(Math.log2(n)) ? Math.log2(n) : 0;
}

/** OPERATING PARAMETERS (service action 03h). */
export function operatingParameters(blockSize: number, limits: CopyLimits = COPY_LIMITS): Buffer {
  const codes = IMPLEMENTED_DESCRIPTOR_CODES;
  const b = Buffer.alloc(44 + codes.length);
  b.writeUInt32BE(b.length - 4, 0);
  b[4] = 0x01; // SNLID: LIST ID USAGE 11b (no list identifier) is supported
  b.writeUInt16BE(limits.maxCscdDescriptors, 8);
  b.writeUInt16BE(limits.maxSegmentDescriptors, 10);
  b.writeUInt32BE(limits.maxDescriptorListLength, 12);
  b.writeUInt32BE(limits.maxSegmentLength, 16);
  b.writeUInt32BE(limits.maxInlineDataLength, 20);
  // HELD DATA LIMIT, MAXIMUM STREAM DEVICE TRANSFER SIZE: 0 (no RECEIVE DATA, no stream devices).
  b.writeUInt16BE(limits.totalConcurrentCopies, 34);
  b[36] = limits.maxConcurrentCopies;
  b[37] = log2(blockSize); // DATA SEGMENT GRANULARITY: segments move whole blocks
  b[43] = codes.length;
  codes.forEach((c, i) => (b[44 + i] = c));
  return b;
}

/** COPY MANAGER STATUS values. */
const STATUS_CODE = { running: 0x00, completed: 0x01, failed: 0x02 } as const;

/** COPY STATUS (service action 00h): 12 bytes. */
export function copyStatusData(record: CopyRecord): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(8, 0);
  b[4] = STATUS_CODE[record.state]; // HDD=0: no held data was discarded
  b.writeUInt16BE(Math.min(record.segmentsProcessed, 0xffff), 5);
  if (record.bytesTransferred <= 0xffffffff) {
    b[7] = 0x00; // TRANSFER COUNT UNITS: bytes
    b.writeUInt32BE(record.bytesTransferred, 8);
  } else {
    b[7] = 0x02; // mebibytes
    b.writeUInt32BE(Math.min(Math.floor(record.bytesTransferred / 2 ** 20), 0xffffffff), 8);
  }
  return b;
}

/**
 * FAILED SEGMENT DETAILS (service action 04h): the status and sense data of a
 * failed EXTENDED COPY; AVAILABLE DATA 0 alone when there are none (still
 * running, or completed without error).
 */
export function failedSegmentDetailsData(record: CopyRecord): Buffer {
  const f = record.failure;
  if (f === undefined) return Buffer.alloc(4);
  const b = Buffer.alloc(60 + f.sense.length);
  b.writeUInt32BE(b.length - 4, 0);
  b[56] = f.status; // COPY COMMAND STATUS
  b.writeUInt16BE(f.sense.length, 58);
  f.sense.copy(b, 60);
  return b;
}

const USAGE_WITH_LIST_ID = [RECEIVE_COPY_RESULTS, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00];

export function receiveCopyResultsCommands(manager: CopyManager, limits: CopyLimits = COPY_LIMITS): AnyCommandSpec[] {
  const common = { opcode: RECEIVE_COPY_RESULTS, cdbLength: 16, modifiesMedium: false, allowedUnderReservation: false, parse: parseRcr };
  const notHeld = (): SenseFailure => invalidCdbField(2, 7);
  return [
    defineCommand<RcrParams>({
      ...common,
      name: 'RECEIVE COPY RESULTS(COPY STATUS)',
      serviceAction: SA_COPY_STATUS,
      usage: USAGE_WITH_LIST_ID,
      async execute(p, ctx) {
        const record = findCopy(manager, ctx.unit, ctx.nexus.id, p.listId);
        if (record === undefined || (record.state !== 'running' && !record.statusHeld)) return notHeld();
        const data = copyStatusData(record);
        if (p.allocationLength >= data.length) statusReported(manager, ctx.unit, ctx.nexus.id, record);
        return dataIn(data, p.allocationLength);
      },
    }),
    defineCommand<RcrParams>({
      ...common,
      name: 'RECEIVE COPY RESULTS(OPERATING PARAMETERS)',
      serviceAction: SA_OPERATING_PARAMETERS,
      usage: [RECEIVE_COPY_RESULTS, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
      async execute(p, ctx) {
        return dataIn(operatingParameters(ctx.unit.device.blockSize, limits), p.allocationLength);
      },
    }),
    defineCommand<RcrParams>({
      ...common,
      name: 'RECEIVE COPY RESULTS(FAILED SEGMENT DETAILS)',
      serviceAction: SA_FAILED_SEGMENT_DETAILS,
      usage: USAGE_WITH_LIST_ID,
      async execute(p, ctx) {
        const record = findCopy(manager, ctx.unit, ctx.nexus.id, p.listId);
        if (record === undefined) return notHeld();
        const data = failedSegmentDetailsData(record);
        // Discarded once transferred in full, or when asked for with ALLOCATION LENGTH 0.
        if (p.allocationLength === 0 || p.allocationLength >= data.length) failureReported(manager, ctx.unit, ctx.nexus.id, record);
        return dataIn(data, p.allocationLength);
      },
    }),
  ];
}
