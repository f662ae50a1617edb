// Third-party Copy VPD page 8Fh (SPC-4 §7.8) for EXTENDED COPY (LID1):
// supported commands, parameter data, supported descriptors, supported CSCD
// descriptor IDs and general copy operations. No ROD token descriptors: tsgt
// implements no token-based copy (POPULATE TOKEN / WRITE USING TOKEN).

import type { LogicalUnitState } from '../logical-unit.js';
import { COPY_LIMITS, CSCD_ID_THIS_LU, IMPLEMENTED_DESCRIPTOR_CODES, type CopyLimits } from '../xcopy/limits.js';
import { EXTENDED_COPY, SA_EXTENDED_COPY_LID1 } from './extended-copy.js';
import { RECEIVE_COPY_RESULTS, SA_COPY_STATUS, SA_FAILED_SEGMENT_DETAILS, SA_OPERATING_PARAMETERS } from './receive-copy-results.js';

export const VPD_THIRD_PARTY_COPY = 0x8f;

/** Third-party copy descriptor types. */
const SUPPORTED_COMMANDS = 0x0001;
const PARAMETER_DATA = 0x0004;
const SUPPORTED_DESCRIPTORS = 0x0008;
const SUPPORTED_CSCD_IDS = 0x000c;
const GENERAL_COPY_OPERATIONS = 0x8001;

/** The copy commands and service actions of the command table (commands.ts). */
const COPY_COMMANDS: readonly (readonly [number, readonly number[]])[] = [
  [EXTENDED_COPY, [SA_EXTENDED_COPY_LID1]],
  [RECEIVE_COPY_RESULTS, [SA_COPY_STATUS, SA_OPERATING_PARAMETERS, SA_FAILED_SEGMENT_DETAILS]],
];

/** A third-party copy descriptor: type, length, body padded to a multiple of 4 bytes. */
function descriptor(type: number, body: Buffer): Buffer {
  const padded = (body.length + 3) & ~3;
  const d = Buffer.alloc(4 + padded);
  d.writeUInt16BE(type, 0);
  d.writeUInt16BE(padded, 2);
  body.copy(d, 4);
  return d;
}

function supportedCommands(): Buffer {
  const list = Buffer.concat(COPY_COMMANDS.map(([op, sas]) => Buffer.from([op, sas.length, ...sas])));
  return descriptor(SUPPORTED_COMMANDS, Buffer.concat([Buffer.from([list.length]), list]));
}

function parameterData(limits: CopyLimits): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16BE(limits.maxCscdDescriptors, 4);
  b.writeUInt16BE(limits.maxSegmentDescriptors, 6);
  b.writeUInt32BE(limits.maxDescriptorListLength, 8);
  b.writeUInt32BE(limits.maxInlineDataLength, 12);
  return descriptor(PARAMETER_DATA, b);
}

function supportedDescriptors(): Buffer {
  return descriptor(SUPPORTED_DESCRIPTORS, Buffer.from([IMPLEMENTED_DESCRIPTOR_CODES.length, ...IMPLEMENTED_DESCRIPTOR_CODES]));
}

function supportedCscdIds(): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(2, 0);
  b.writeUInt16BE(CSCD_ID_THIS_LU, 2);
  return descriptor(SUPPORTED_CSCD_IDS, b);
}

function generalCopyOperations(blockSize: number, limits: CopyLimits): Buffer {
  const b = Buffer.alloc(32);
  b.writeUInt32BE(limits.totalConcurrentCopies, 0);
  b.writeUInt32BE(limits.maxConcurrentCopies, 4);
  b.writeUInt32BE(limits.maxSegmentLength, 8);
  b[12] = Number.isInteger(Math.log2(blockSize)) ? Math.log2(blockSize) : 0; // DATA SEGMENT GRANULARITY (log2)
  return descriptor(GENERAL_COPY_OPERATIONS, b);
}

export function vpdThirdPartyCopy(unit: LogicalUnitState, limits: CopyLimits = COPY_LIMITS): Buffer {
  const body = Buffer.concat([
    supportedCommands(),
    parameterData(limits),
    supportedDescriptors(),
    supportedCscdIds(),
    generalCopyOperations(unit.device.blockSize, limits),
  ]);
  const b = Buffer.alloc(4 + body.length);
  b[1] = VPD_THIRD_PARTY_COPY;
  b.writeUInt16BE(body.length, 2);
  body.copy(b, 4);
  return b;
}
