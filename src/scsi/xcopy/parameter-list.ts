// The EXTENDED COPY (LID1) parameter list (SPC-4 §6.4.3): header, CSCD
// descriptors, segment descriptors, inline data. A pure parser: everything that
// can be judged from the bytes alone is judged here (errors "before processing
// segment descriptors", ILLEGAL REQUEST); whether a CSCD names a reachable LU
// and whether a segment fits it is decided while processing (block-copy.ts).
//
// Check order: lengths first, then counts, then descriptor types. libiscsi's
// ExtendedCopy.DescrLimits sends a list that is both too long and has too many
// descriptors and expects PARAMETER LIST LENGTH ERROR (as LIO reports it).

import { readU24, readU64Safe } from '../cdb.js';
import { CopySense, parameterListFailure, type ParameterListFailure } from './copy-sense.js';
import {
  BLOCK_TO_BLOCK_LENGTH,
  COPY_LIMITS,
  CSCD_DESCRIPTOR_LENGTH,
  CSCD_IDENTIFICATION,
  PARAMETER_LIST_HEADER_LENGTH,
  SEGMENT_BLOCK_TO_BLOCK,
  type CopyLimits,
} from './limits.js';

/**
 * LIST ID USAGE (SPC-4 §6.4.3): 00b hold results for RECEIVE COPY RESULTS,
 * 10b do not hold them (the list identifier is still unique while the copy
 * runs), 11b no list identifier at all. 01b is reserved.
 */
export type ListIdUsage = 'hold' | 'discard' | 'none';

export interface CopyListHeader {
  readonly listId: number;
  /** STR: sequential striped (a hint for stream devices; block copies ignore it). */
  readonly str: boolean;
  readonly listIdUsage: ListIdUsage;
  readonly priority: number;
}

export interface Designator {
  readonly codeSet: number;
  readonly association: number;
  readonly type: number;
  readonly value: Buffer;
}

/** Identification descriptor CSCD descriptor (E4h, SPC-4 §6.4.5). */
export interface IdentificationCscd {
  /** Offset of the descriptor in the parameter list (for segment pointers). */
  readonly offset: number;
  readonly peripheralDeviceType: number;
  readonly designator: Designator;
  /** Block device type specific DISK BLOCK LENGTH; 0: not given. */
  readonly blockLength: number;
}

/** Block device to block device segment descriptor (02h, SPC-4 §6.4.6). */
export interface BlockToBlockSegment {
  readonly offset: number;
  /** DC: NUMBER OF BLOCKS counts destination blocks (else source blocks). */
  readonly destinationCount: boolean;
  /** SOURCE / DESTINATION CSCD DESCRIPTOR ID. */
  readonly source: number;
  readonly destination: number;
  readonly blocks: number;
  /** undefined: beyond 2^53 - 1, which no LU reaches. */
  readonly sourceLba: number | undefined;
  readonly destinationLba: number | undefined;
}

export interface CopyList {
  readonly header: CopyListHeader;
  readonly cscds: readonly IdentificationCscd[];
  readonly segments: readonly BlockToBlockSegment[];
}

/** Byte offsets inside descriptors, for segment pointers. */
export const Field = {
  CscdDeviceType: 1,
  CscdDesignatorLength: 7,
  CscdBlockLength: 29,
  SegmentDescriptorLength: 2,
  SegmentSource: 4,
  SegmentDestination: 6,
  SegmentBlocks: 10,
  SegmentSourceLba: 12,
  SegmentDestinationLba: 20,
} as const;

const USAGE: readonly (ListIdUsage | undefined)[] = ['hold', undefined, 'discard', 'none'];

export function parseCopyParameterList(data: Buffer, limits: CopyLimits = COPY_LIMITS): CopyList | ParameterListFailure {
  if (data.length < PARAMETER_LIST_HEADER_LENGTH) return parameterListFailure(CopySense.ParameterListLengthError);
  const cscdLength = data.readUInt16BE(2);
  const segmentLength = data.readUInt32BE(8);
  const inlineLength = data.readUInt32BE(12);
  // SPC-4 §6.4.3: the descriptor lists must fit what we advertise and what was sent.
  if (
    cscdLength + segmentLength > limits.maxDescriptorListLength ||
    inlineLength > limits.maxInlineDataLength ||
    data.length < PARAMETER_LIST_HEADER_LENGTH + cscdLength + segmentLength + inlineLength
  ) {
    return parameterListFailure(CopySense.ParameterListLengthError);
  }
  const usage = USAGE[(data[1] >> 3) & 0x03];
  if (usage === undefined) return parameterListFailure(CopySense.InvalidFieldInParameterList, 1, 4);
  if (usage === 'none' && data[0] !== 0) return parameterListFailure(CopySense.InvalidFieldInParameterList, 0);
  const header: CopyListHeader = { listId: data[0], str: (data[1] & 0x20) !== 0, listIdUsage: usage, priority: data[1] & 0x07 };

  if (cscdLength > limits.maxCscdDescriptors * CSCD_DESCRIPTOR_LENGTH) return parameterListFailure(CopySense.TooManyTargetDescriptors, 2);
  const cscds = parseCscds(data, PARAMETER_LIST_HEADER_LENGTH, cscdLength);
  if (!Array.isArray(cscds)) return cscds;
  const segments = parseSegments(data, PARAMETER_LIST_HEADER_LENGTH + cscdLength, segmentLength, limits);
  if (!Array.isArray(segments)) return segments;
  return { header, cscds, segments };
}

function parseCscds(data: Buffer, start: number, length: number): IdentificationCscd[] | ParameterListFailure {
  const out: IdentificationCscd[] = [];
  for (let off = start; off < start + length; off += CSCD_DESCRIPTOR_LENGTH) {
    // Only E4h is implemented; other types (and their 64-byte variants) are refused by code.
    if (data[off] !== CSCD_IDENTIFICATION) return parameterListFailure(CopySense.UnsupportedTargetDescriptorType, off);
    if (off + CSCD_DESCRIPTOR_LENGTH > start + length) return parameterListFailure(CopySense.InvalidFieldInParameterList, 2);
    // Byte 1 LU ID TYPE and NUL are obsolete in SPC-4 and ignored; bytes 2-3 RELATIVE INITIATOR PORT IDENTIFIER likewise.
    const designatorLength = data[off + Field.CscdDesignatorLength];
    if (designatorLength > 16) return parameterListFailure(CopySense.InvalidFieldInParameterList, off + Field.CscdDesignatorLength);
    out.push({
      offset: off,
      peripheralDeviceType: data[off + 1] & 0x1f,
      designator: {
        codeSet: data[off + 4] & 0x0f,
        association: (data[off + 5] >> 4) & 0x03,
        type: data[off + 5] & 0x0f,
        value: Buffer.from(data.subarray(off + 8, off + 8 + designatorLength)),
      },
      blockLength: readU24(data, off + Field.CscdBlockLength),
    });
  }
  return out;
}

function parseSegments(data: Buffer, start: number, length: number, limits: CopyLimits): BlockToBlockSegment[] | ParameterListFailure {
  const out: BlockToBlockSegment[] = [];
  const end = start + length;
  let off = start;
  while (off < end) {
    if (out.length >= limits.maxSegmentDescriptors) return parameterListFailure(CopySense.TooManySegmentDescriptors, 8);
    // Every segment descriptor starts with TYPE, flags and DESCRIPTOR LENGTH (SPC-4 §6.4.6).
    if (off + 4 > end) return parameterListFailure(CopySense.InvalidFieldInParameterList, 8);
    const size = 4 + data.readUInt16BE(off + 2);
    if (data[off] !== SEGMENT_BLOCK_TO_BLOCK) return parameterListFailure(CopySense.UnsupportedSegmentDescriptorType, off);
    if (size !== BLOCK_TO_BLOCK_LENGTH) return parameterListFailure(CopySense.InvalidFieldInParameterList, off + Field.SegmentDescriptorLength);
    if (off + size > end) return parameterListFailure(CopySense.InvalidFieldInParameterList, 8);
    out.push({
      offset: off,
      destinationCount: (data[off + 1] & 0x02) !== 0,
      source: data.readUInt16BE(off + Field.SegmentSource),
      destination: data.readUInt16BE(off + Field.SegmentDestination),
      blocks: data.readUInt16BE(off + Field.SegmentBlocks),
      sourceLba: readU64Safe(data, off + Field.SegmentSourceLba),
      destinationLba: readU64Safe(data, off + Field.SegmentDestinationLba),
    });
    off += size;
  }
  return out;
}

export type CscdSpec = Omit<IdentificationCscd, 'offset'>;
export type SegmentSpec = Omit<BlockToBlockSegment, 'offset'>;

/** The inverse of parseCopyParameterList, for tests and tools; an undefined LBA encodes as all ones. */
export function encodeCopyParameterList(header: CopyListHeader, cscds: readonly CscdSpec[], segments: readonly SegmentSpec[]): Buffer {
  const h = Buffer.alloc(PARAMETER_LIST_HEADER_LENGTH);
  h[0] = header.listId;
  h[1] = (header.str ? 0x20 : 0) | (USAGE.indexOf(header.listIdUsage) << 3) | (header.priority & 0x07);
  h.writeUInt16BE(cscds.length * CSCD_DESCRIPTOR_LENGTH, 2);
  h.writeUInt32BE(segments.length * BLOCK_TO_BLOCK_LENGTH, 8);
  const c = cscds.map((d) => {
    const b = Buffer.alloc(CSCD_DESCRIPTOR_LENGTH);
    b[0] = CSCD_IDENTIFICATION;
    b[1] = d.peripheralDeviceType & 0x1f;
    b[4] = d.designator.codeSet & 0x0f;
    b[5] = ((d.designator.association & 0x03) << 4) | (d.designator.type & 0x0f);
    b[7] = d.designator.value.length;
    d.designator.value.copy(b, 8, 0, 16);
    b.writeUIntBE(d.blockLength, Field.CscdBlockLength, 3);
    return b;
  });
  const s = segments.map((d) => {
    const b = Buffer.alloc(BLOCK_TO_BLOCK_LENGTH);
    b[0] = SEGMENT_BLOCK_TO_BLOCK;
    b[1] = d.destinationCount ? 0x02 : 0;
    b.writeUInt16BE(BLOCK_TO_BLOCK_LENGTH - 4, Field.SegmentDescriptorLength);
    b.writeUInt16BE(d.source, Field.SegmentSource);
    b.writeUInt16BE(d.destination, Field.SegmentDestination);
    b.writeUInt16BE(d.blocks, Field.SegmentBlocks);
    b.writeBigUInt64BE(d.sourceLba === undefined ? 0xffff_ffff_ffff_ffffn : BigInt(d.sourceLba), Field.SegmentSourceLba);
    b.writeBigUInt64BE(d.destinationLba === undefined ? 0xffff_ffff_ffff_ffffn : BigInt(d.destinationLba), Field.SegmentDestinationLba);
    return b;
  });
  return Buffer.concat([h, ...c, ...s]);
}
