// Small helpers for reading CDB fields and shaping Data-In results.

import { ScsiStatus, type ScsiResult } from './api.js';

/** Big-endian 64-bit field as a number, or undefined when above 2^53-1 (we cannot address it). */
export function readU64Safe(b: Buffer, offset: number): number | undefined {
  const hi = b.readUInt32BE(offset);
  const lo = b.readUInt32BE(offset + 4);
  if (hi > 0x1fffff) return undefined;
  return hi * 0x1_0000_0000 + lo;
}

export function readU24(b: Buffer, offset: number): number {
  return (b[offset] << 16) | (b[offset + 1] << 8) | b[offset + 2];
}

export function writeU64(b: Buffer, offset: number, value: number): void {
  b.writeUInt32BE(Math.floor(value / 0x1_0000_0000) >>> 0, offset);
  b.writeUInt32BE(value % 0x1_0000_0000 >>> 0, offset + 4);
}

/** GOOD status with Data-In truncated to the allocation length (SPC-4 §4.2.5.6). */
export function dataIn(data: Buffer, allocationLength: number): ScsiResult {
  const n = Math.min(allocationLength, data.length);
  return { status: ScsiStatus.Good, data: n === data.length ? data : data.subarray(0, n), transferLength: n };
}

export function good(): ScsiResult {
  return { status: ScsiStatus.Good, transferLength: 0 };
}

/** Space-padded ASCII field of fixed width. */
export function asciiField(value: string, width: number): Buffer {
  const b = Buffer.alloc(width, 0x20);
  b.write(value.replace(/[^\x20-\x7e]/g, ' ').slice(0, width), 0, 'ascii');
  return b;
}
