// Sense data for EXTENDED COPY (SPC-4 §6.4 and its error reporting rules). The
// generic sense table (sense.ts) has no COPY ABORTED key nor the copy-specific
// ASC/ASCQ pairs, so they are built here as {key, ASC, ASCQ} data.
//
// Two error classes (SPC-2 §7.2.2 / §7.2.3, kept by SPC-4):
// - detected before any segment is processed: the real sense key (ILLEGAL
//   REQUEST), with a field pointer into the parameter list;
// - detected while processing segment N: sense key COPY ABORTED, COMMAND-
//   SPECIFIC INFORMATION = N, a segment pointer in the sense-key specific
//   field and, in descriptor format, the copy target's own status and sense in
//   a forwarded sense data descriptor (SPC-4 §4.5.2, descriptor type 0Ch).

import { ScsiStatus, type ScsiResult } from '../api.js';
import { buildSense, buildSenseFromCode, SenseKey, type SenseCode, type SenseReason } from '../sense.js';

/** Sense key 0Ah (SPC-4 §4.5.6). */
export const COPY_ABORTED_KEY = 0x0a as SenseKey;

const illegal = (asc: number, ascq: number): SenseCode => ({ key: SenseKey.IllegalRequest, asc, ascq });
const aborted = (asc: number, ascq: number): SenseCode => ({ key: COPY_ABORTED_KEY, asc, ascq });

/** SPC-4 Annex D codes used by the copy manager. */
export const CopySense = {
  ParameterListLengthError: illegal(0x1a, 0x00),
  InvalidFieldInParameterList: illegal(0x26, 0x00),
  TooManyTargetDescriptors: illegal(0x26, 0x06),
  UnsupportedTargetDescriptorType: illegal(0x26, 0x07),
  TooManySegmentDescriptors: illegal(0x26, 0x08),
  UnsupportedSegmentDescriptorType: illegal(0x26, 0x09),
  OperationInProgress: illegal(0x00, 0x16),
  /** COPY ABORTED, NO ADDITIONAL SENSE INFORMATION: the segment pointer says which field was unusable. */
  SegmentAborted: aborted(0x00, 0x00),
  ThirdPartyDeviceFailure: aborted(0x0d, 0x01),
  CopyTargetDeviceNotReachable: aborted(0x0d, 0x02),
  IncorrectCopyTargetDeviceType: aborted(0x0d, 0x03),
  SegmentInvalidField: aborted(0x26, 0x00),
  UnexpectedInexactSegment: aborted(0x26, 0x0a),
} as const;

/** SENSE DATA SOURCE of a forwarded sense data descriptor. */
export type ForwardedSource = 'source' | 'destination';

/** What a copy target (source or destination LU) reported for an I/O of the copy. */
export interface ForwardedStatus {
  readonly source: ForwardedSource;
  readonly status: ScsiStatus;
  /** The copy target's sense data as it would have returned it (descriptor format). */
  readonly sense?: Buffer;
}

/** A failure while processing a segment descriptor. */
export interface SegmentFailure {
  readonly kind: 'segment-failure';
  readonly code: SenseCode;
  /** Index of the segment descriptor being processed. */
  readonly segment: number;
  /**
   * Segment pointer: the byte in error, relative to the segment descriptor
   * (`inSegment`) or to the start of the parameter list.
   */
  readonly pointer?: { readonly inSegment: boolean; readonly byte: number };
  readonly forwarded?: ForwardedStatus;
}

export function segmentFailure(
  code: SenseCode,
  segment: number,
  extra: { pointer?: SegmentFailure['pointer']; forwarded?: ForwardedStatus } = {},
): SegmentFailure {
  return { kind: 'segment-failure', code, segment, pointer: extra.pointer, forwarded: extra.forwarded };
}

/** The copy target's sense for a condition it would report itself (forwarded to the initiator). */
export function targetSense(reason: SenseReason, information?: number): Buffer {
  return buildSense(reason, { descriptor: true, information });
}

/** Segment pointer sense-key specific bytes (SPC-4 §4.5.2.4, sense key COPY ABORTED). */
function segmentPointer(pointer: NonNullable<SegmentFailure['pointer']>): Buffer {
  const sks = Buffer.alloc(3);
  sks[0] = 0x80 | (pointer.inSegment ? 0x20 : 0); // SKSV, SD
  sks.writeUInt16BE(pointer.byte & 0xffff, 1);
  return sks;
}

/** Render COPY ABORTED sense data, fixed (70h) or descriptor (72h) format. */
export function renderSegmentFailure(f: SegmentFailure, descriptor: boolean): Buffer {
  const sks = f.pointer === undefined ? undefined : segmentPointer(f.pointer);
  if (!descriptor) {
    const b = Buffer.alloc(18);
    b[0] = 0x70;
    b[2] = f.code.key & 0x0f;
    b[7] = 10;
    b.writeUInt32BE(f.segment >>> 0, 8); // COMMAND-SPECIFIC INFORMATION
    b[12] = f.code.asc;
    b[13] = f.code.ascq;
    sks?.copy(b, 15);
    return b;
  }
  const parts: Buffer[] = [];
  const csi = Buffer.alloc(12);
  csi[0] = 0x01; // command-specific information descriptor
  csi[1] = 0x0a;
  csi.writeUInt32BE(f.segment >>> 0, 8);
  parts.push(csi);
  if (sks !== undefined) {
    const d = Buffer.alloc(8);
    d[0] = 0x02;
    d[1] = 0x06;
    sks.copy(d, 4);
    parts.push(d);
  }
  if (f.forwarded !== undefined) {
    // FSDT (truncated) when the copy target's sense does not fit the 1-byte length.
    const sense = f.forwarded.sense ?? Buffer.alloc(0);
    const kept = sense.subarray(0, Math.min(sense.length, 200));
    const d = Buffer.alloc(4 + kept.length);
    d[0] = 0x0c;
    d[1] = 2 + kept.length;
    d[2] = (kept.length < sense.length ? 0x80 : 0) | (f.forwarded.source === 'source' ? 0x01 : 0x02);
    d[3] = f.forwarded.status;
    kept.copy(d, 4);
    parts.push(d);
  }
  const body = Buffer.concat(parts);
  const b = Buffer.alloc(8 + body.length);
  b[0] = 0x72;
  b[1] = f.code.key & 0x0f;
  b[2] = f.code.asc;
  b[3] = f.code.ascq;
  b[7] = body.length;
  body.copy(b, 8);
  return b;
}

/** A parameter-list error (ILLEGAL REQUEST family) found before any segment ran. */
export interface ParameterListFailure {
  readonly kind: 'parameter-list-failure';
  readonly code: SenseCode;
  /** Byte (and bit) of the parameter list in error, when one can be named. */
  readonly field?: { readonly byte: number; readonly bit?: number };
}

export function parameterListFailure(code: SenseCode, byte?: number, bit?: number): ParameterListFailure {
  return { kind: 'parameter-list-failure', code, field: byte === undefined ? undefined : { byte, bit } };
}

export function renderParameterListFailure(f: ParameterListFailure, descriptor: boolean): Buffer {
  return buildSenseFromCode(f.code, {
    descriptor,
    field: f.field === undefined ? undefined : { inCdb: false, byte: f.field.byte, bit: f.field.bit },
  });
}

export function checkCondition(sense: Buffer): ScsiResult {
  return { status: ScsiStatus.CheckCondition, sense };
}
