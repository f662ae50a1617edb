// Single-level LUN encoding (SAM-5 §4.7): peripheral device addressing
// (method 00b, bus 0) for LUN < 256, flat space addressing (method 01b) up to 16383.

export const MAX_FLAT_LUN = 0x3fff;

export function lunToBuffer(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > MAX_FLAT_LUN) throw new RangeError(`LUN out of range: ${n}`);
  const b = Buffer.alloc(8);
  if (n < 256) {
    b[1] = n;
  } else {
    b[0] = 0x40 | (n >> 8);
    b[1] = n & 0xff;
  }
  return b;
}

/**
 * The LUN number of a single-level peripheral (bus 0) or flat-space LUN;
 * undefined for other addressing methods, other buses or multi-level LUNs.
 */
export function lunFromBuffer(b: Buffer): number | undefined {
  if (b.length !== 8) return undefined;
  for (let i = 2; i < 8; i++) if (b[i] !== 0) return undefined;
  const method = b[0] >> 6;
  if (method === 0) return (b[0] & 0x3f) === 0 ? b[1] : undefined;
  if (method === 1) return ((b[0] & 0x3f) << 8) | b[1];
  return undefined;
}
