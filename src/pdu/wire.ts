// Frame → iovec list for socket.cork()/write() (RFC 7143 §11.1 PDU layout):
// BHS | AHS | HeaderDigest | Data | pad to 4 | DataDigest.

import { dataDigest, headerDigest, padLength, writeDigest } from './digest.js';
import type { Frame } from './types.js';

// Views over one zeroed buffer, indexed by pad length; never written.
const ZERO = Buffer.alloc(4);
const PADS: readonly Buffer[] = [ZERO.subarray(0, 0), ZERO.subarray(0, 1), ZERO.subarray(0, 2), ZERO.subarray(0, 3)];

export function serializeFrame(frame: Frame, digests: { header: boolean; data: boolean }): Buffer[] {
  const out: Buffer[] = [frame.bhs];
  if (frame.ahs.length > 0) out.push(frame.ahs);
  if (digests.header) out.push(writeDigest(headerDigest(frame.bhs, frame.ahs)));
  const n = frame.data.length;
  if (n > 0) {
    out.push(frame.data);
    const pad = padLength(n);
    if (pad > 0) out.push(PADS[pad]);
    if (digests.data) out.push(writeDigest(dataDigest(frame.data)));
  }
  return out;
}

/** Total bytes serializeFrame would produce. */
export function serializedLength(frame: Frame, digests: { header: boolean; data: boolean }): number {
  const n = frame.data.length;
  return (
    frame.bhs.length +
    frame.ahs.length +
    (digests.header ? 4 : 0) +
    (n > 0 ? n + padLength(n) + (digests.data ? 4 : 0) : 0)
  );
}
