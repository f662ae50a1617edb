// What tsgt's copy manager supports (SPC-4 §6.4 EXTENDED COPY (LID1)). One
// table of numbers feeds the parameter-list checks, RECEIVE COPY RESULTS
// OPERATING PARAMETERS and the Third-party Copy VPD page (8Fh),
// so what we advertise is what we enforce.

/** Descriptor type codes (SPC-4 §6.4.5, §6.4.6). */
export const SEGMENT_BLOCK_TO_BLOCK = 0x02;
export const CSCD_IDENTIFICATION = 0xe4;

/** CSCD DESCRIPTOR ID naming the LU that received the EXTENDED COPY (SPC-4 §6.4, CSCD descriptor IDs). */
export const CSCD_ID_THIS_LU = 0xffff;

export const PARAMETER_LIST_HEADER_LENGTH = 16;
export const CSCD_DESCRIPTOR_LENGTH = 32;
/** Block device to block device segment descriptor: DESCRIPTOR LENGTH 0018h plus the 4-byte header. */
export const BLOCK_TO_BLOCK_LENGTH = 28;

export interface CopyLimits {
  readonly maxCscdDescriptors: number;
  readonly maxSegmentDescriptors: number;
  /** CSCD DESCRIPTOR LIST LENGTH + SEGMENT DESCRIPTOR LIST LENGTH. */
  readonly maxDescriptorListLength: number;
  /** Bytes one segment may move. */
  readonly maxSegmentLength: number;
  /** No segment type we implement carries inline data. */
  readonly maxInlineDataLength: number;
  /** Advertised concurrency (RCR bytes 34..36, VPD 8Fh general copy operations). */
  readonly totalConcurrentCopies: number;
  readonly maxConcurrentCopies: number;
  /** Bytes read and written per step of a segment (the copy buffer). */
  readonly chunkBytes: number;
}

/**
 * The descriptor list limit leaves room for one CSCD and one segment beyond
 * each count limit, so an over-count list reports TOO MANY ... DESCRIPTORS
 * rather than PARAMETER LIST LENGTH ERROR (the length check comes first).
 */
export const COPY_LIMITS: CopyLimits = {
  maxCscdDescriptors: 64,
  maxSegmentDescriptors: 64,
  maxDescriptorListLength: 8192,
  // 65535 blocks of 4096 bytes: NUMBER OF BLOCKS is 16 bits, so no 02h segment exceeds it.
  maxSegmentLength: 0xffff * 4096,
  maxInlineDataLength: 0,
  totalConcurrentCopies: 255,
  maxConcurrentCopies: 255,
  chunkBytes: 1024 * 1024,
};

/** Descriptor type codes we implement, ascending (RCR OPERATING PARAMETERS, VPD 8Fh). */
export const IMPLEMENTED_DESCRIPTOR_CODES: readonly number[] = [SEGMENT_BLOCK_TO_BLOCK, CSCD_IDENTIFICATION];
