// CRC32C header and data digests (RFC 7143 §11.1, §13.1; polynomial per RFC 3720 App. B.4).
//
// The digest is sent least-significant byte first: the RFC's example CRC of
// 32 zero bytes, 0x8a9136aa, appears on the wire as aa 36 91 8a.

import { crc32c } from '@node-rs/crc32';

export const DIGEST_LENGTH = 4;

const ZERO_PAD = Buffer.alloc(4);

/** Bytes of padding after a data segment of length n. */
export function padLength(n: number): number {
  return (4 - (n & 3)) & 3;
}

/** CRC32C over BHS then AHS, chained without concatenation. */
export function headerDigest(bhs: Buffer, ahs: Buffer): number {
  const c = crc32c(bhs);
  return ahs.length === 0 ? c : crc32c(ahs, c);
}

/** CRC32C over the data segment and its zero padding (padding is covered, §11.1). */
export function dataDigest(data: Buffer): number {
  const c = crc32c(data);
  const pad = padLength(data.length);
  return pad === 0 ? c : crc32c(ZERO_PAD.subarray(0, pad), c);
}

/** Continue a CRC32C over one more piece (e.g. the received padding bytes). */
export function crc32cUpdate(piece: Buffer, crc: number): number {
  return crc32c(piece, crc);
}

export function writeDigest(crc: number): Buffer {
  const b = Buffer.allocUnsafe(DIGEST_LENGTH);
  b.writeUInt32LE(crc >>> 0, 0);
  return b;
}

export function readDigest(b: Buffer, offset = 0): number {
  return b.readUInt32LE(offset);
}
