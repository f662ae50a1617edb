// Incremental PDU framer for a received byte stream (RFC 7143 §11.1):
//   BHS(48) | AHS(TotalAHSLength*4) | HeaderDigest? | Data | pad | DataDigest?
//
// Zero copy when a segment lies inside one chunk (subarray views) unless the
// chunk is transient (the reader reuses its memory); a segment spanning
// chunks is allocated once at its exact size and filled. A socket
// that can read into a buffer of our choosing asks `directTarget()` first, so
// the rest of a large data segment is read straight into its final buffer
// (no copy at all). Digests are only checked, never stored, so their bytes go
// through a per-framer scratch.

import { readDataSegmentLength, readTotalAhsLength, MAX_AHS_LENGTH } from './bhs.js';
import { crc32cUpdate, headerDigest, padLength, readDigest } from './digest.js';
import { crc32c } from '@node-rs/crc32';
import { BHS_LENGTH } from './types.js';
import type { Frame } from './types.js';

export interface FramerLimits {
  maxDataSegmentLength: number;
  headerDigest: boolean;
  dataDigest: boolean;
  maxAhsLength?: number;
}

/** Data segments at least this long (still to come) are offered for direct reads. */
export const DIRECT_READ_MIN = 16 * 1024;

export type FramerError = { kind: 'fatal'; reason: string };

export interface ReceivedFrame extends Frame {
  dataDigestError: boolean;
}

const enum Step {
  Bhs,
  Ahs,
  HeaderDigest,
  Data,
  Pad,
  DataDigest,
  Dead,
}

const EMPTY = Buffer.alloc(0);

export class PduFramer {
  limits: FramerLimits;
  private readonly onFrame: (f: ReceivedFrame) => void;
  private readonly onError: (e: FramerError) => void;

  private step: Step = Step.Bhs;
  /** Bytes the current step needs. */
  private need = BHS_LENGTH;
  /** Buffer a spanning segment is being assembled into (undefined when none). */
  private partial: Buffer | undefined;
  private filled = 0;
  private readonly scratch = Buffer.alloc(4);

  // Per-frame state, fixed when the BHS completes.
  private bhs: Buffer = EMPTY;
  private ahs: Buffer = EMPTY;
  private data: Buffer = EMPTY;
  private dataLength = 0;
  private useHeaderDigest = false;
  private useDataDigest = false;
  private dataCrc = 0;

  /** Buffer for a data segment that spans reads (its owner may pool them). */
  private readonly allocate: (length: number) => Buffer;

  constructor(
    limits: FramerLimits,
    onFrame: (f: ReceivedFrame) => void,
    onError: (e: FramerError) => void,
    allocate: (length: number) => Buffer = Buffer.allocUnsafe,
  ) {
    this.limits = limits;
    this.onFrame = onFrame;
    this.onError = onError;
    this.allocate = allocate;
  }

  /**
   * Where the next read should land to need no copy: the unfilled rest of a
   * data segment of at least DIRECT_READ_MIN bytes, or undefined (then read
   * anywhere and `push` the bytes). Reading into it is followed by
   * `pushDirect(n)` before anything else is pushed.
   */
  directTarget(): Buffer | undefined {
    if (this.step !== Step.Data || this.need - this.filled < DIRECT_READ_MIN) return undefined;
    if (this.filled === 0) this.partial = this.allocate(this.need);
    return (this.partial as Buffer).subarray(this.filled, this.need);
  }

  /** `n` bytes were read into the buffer `directTarget()` returned. */
  pushDirect(n: number): void {
    if (this.step !== Step.Data || this.partial === undefined || n > this.need - this.filled) {
      throw new Error('pushDirect without a matching directTarget');
    }
    this.filled += n;
    if (this.filled < this.need) return;
    const seg = this.partial;
    this.partial = undefined;
    this.filled = 0;
    this.complete(seg);
  }

  /** True once a fatal error was reported; all further input is ignored. */
  get failed(): boolean {
    return this.step === Step.Dead;
  }

  /** True when no partial PDU is buffered (a clean place to close the stream). */
  get atBoundary(): boolean {
    return this.step === Step.Bhs && this.filled === 0;
  }

  /**
   * Frame the bytes of `chunk`. Frames hold views of it unless `transient`:
   * then the caller reuses the chunk's memory once push returns, so BHS, AHS
   * and data are copied into buffers of their own (data from `allocate`).
   */
  push(chunk: Buffer, transient = false): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end && this.step !== Step.Dead) {
      const need = this.need;
      let seg: Buffer;
      if (this.filled === 0 && end - pos >= need) {
        const step = this.step;
        if (!transient || step === Step.HeaderDigest || step === Step.Pad || step === Step.DataDigest) {
          seg = chunk.subarray(pos, pos + need);
        } else {
          seg = step === Step.Data ? this.allocate(need) : Buffer.allocUnsafe(need);
          chunk.copy(seg, 0, pos, pos + need);
        }
        pos += need;
      } else {
        if (this.filled === 0) {
          // Digest and pad bytes are consumed at once, so they may share the scratch;
          // BHS, AHS and data end up in the frame and need their own buffer.
          const transient = this.step === Step.HeaderDigest || this.step === Step.Pad || this.step === Step.DataDigest;
          this.partial = transient
            ? this.scratch.subarray(0, need)
            : this.step === Step.Data
              ? this.allocate(need)
              : Buffer.allocUnsafe(need);
        }
        const target = this.partial as Buffer;
        const n = Math.min(need - this.filled, end - pos);
        chunk.copy(target, this.filled, pos, pos + n);
        this.filled += n;
        pos += n;
        if (this.filled < need) return;
        seg = target;
        this.partial = undefined;
        this.filled = 0;
      }
      this.complete(seg);
    }
  }

  /** Consume one finished segment, then move to the next step that needs bytes. */
  private complete(seg: Buffer): void {
    switch (this.step) {
      case Step.Bhs: {
        this.bhs = seg;
        this.ahs = EMPTY;
        this.data = EMPTY;
        const ahsLength = readTotalAhsLength(seg);
        const dsl = readDataSegmentLength(seg);
        const limits = this.limits;
        // RFC 7143 §13.12: a PDU larger than MaxRecvDataSegmentLength is a
        // protocol error; refuse before buffering any of it.
        if (dsl > limits.maxDataSegmentLength) {
          return this.fail(`DataSegmentLength ${dsl} exceeds MaxRecvDataSegmentLength ${limits.maxDataSegmentLength}`);
        }
        const maxAhs = limits.maxAhsLength ?? MAX_AHS_LENGTH;
        if (ahsLength > maxAhs) {
          return this.fail(`TotalAHSLength ${ahsLength} bytes exceeds limit ${maxAhs}`);
        }
        this.dataLength = dsl;
        this.useHeaderDigest = limits.headerDigest;
        this.useDataDigest = limits.dataDigest;
        return this.enter(Step.Ahs);
      }
      case Step.Ahs:
        this.ahs = seg;
        return this.enter(Step.HeaderDigest);
      case Step.HeaderDigest: {
        const expected = headerDigest(this.bhs, this.ahs) >>> 0;
        const got = readDigest(seg);
        if (expected !== got) {
          return this.fail(
            `header digest mismatch: expected 0x${expected.toString(16).padStart(8, '0')}, got 0x${got.toString(16).padStart(8, '0')}`,
          );
        }
        return this.enter(Step.Data);
      }
      case Step.Data:
        this.data = seg;
        if (this.useDataDigest) this.dataCrc = crc32c(seg);
        return this.enter(Step.Pad);
      case Step.Pad:
        // The digest covers the pad bytes as received (RFC 7143 §11.1).
        if (this.useDataDigest) this.dataCrc = crc32cUpdate(seg, this.dataCrc);
        return this.enter(Step.DataDigest);
      case Step.DataDigest:
        return this.deliver((this.dataCrc >>> 0) !== readDigest(seg));
      default:
        return;
    }
  }

  /** Enter `step`, skipping steps that need no bytes; delivers when the frame is complete. */
  private enter(step: Step): void {
    for (;;) {
      let need: number;
      switch (step) {
        case Step.Ahs:
          need = readTotalAhsLength(this.bhs);
          break;
        case Step.HeaderDigest:
          need = this.useHeaderDigest ? 4 : 0;
          break;
        case Step.Data:
          need = this.dataLength;
          break;
        case Step.Pad:
          need = padLength(this.dataLength);
          break;
        case Step.DataDigest:
          // No data segment, no data digest.
          need = this.useDataDigest && this.dataLength > 0 ? 4 : 0;
          break;
        default:
          return this.deliver(false);
      }
      if (need > 0) {
        this.step = step;
        this.need = need;
        return;
      }
      if (step === Step.DataDigest) return this.deliver(false);
      step = step + 1;
    }
  }

  private deliver(dataDigestError: boolean): void {
    const frame: ReceivedFrame = { bhs: this.bhs, ahs: this.ahs, data: this.data, dataDigestError };
    this.bhs = EMPTY;
    this.ahs = EMPTY;
    this.data = EMPTY;
    this.step = Step.Bhs;
    this.need = BHS_LENGTH;
    // A throwing callback is an owner bug: let it propagate, but stop framing
    // since the rest of the chunk is lost and the stream is out of sync.
    let returned = false;
    try {
      this.onFrame(frame);
      returned = true;
    } finally {
      if (!returned) this.step = Step.Dead;
    }
  }

  private fail(reason: string): void {
    this.step = Step.Dead;
    this.partial = undefined;
    this.bhs = EMPTY;
    this.ahs = EMPTY;
    this.data = EMPTY;
    this.onError({ kind: 'fatal', reason });
  }
}
