// Table-free bitwise CRC32C (Castagnoli, reflected poly 0x82f63b78), written
// for the tests so digests are checked against something other than the
// implementation under test.

export function referenceCrc32c(...pieces: Buffer[]): number {
  let crc = 0xffffffff;
  for (const piece of pieces) {
    for (const byte of piece) {
      crc ^= byte;
      for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    }
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Digest bytes as sent on the wire (least significant byte first, RFC 3720 App. B.4). */
export function referenceDigestBytes(...pieces: Buffer[]): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(referenceCrc32c(...pieces));
  return b;
}

/** The on-wire PDU with digests, assembled by hand from the fixture bytes. */
export function withDigests(bytes: Buffer, header: boolean, data: boolean): Buffer {
  const ahsLength = bytes[4] * 4;
  const dsl = (bytes[5] << 16) | (bytes[6] << 8) | bytes[7];
  const headerPart = bytes.subarray(0, 48 + ahsLength);
  const dataPart = bytes.subarray(48 + ahsLength); // data + padding
  const parts: Buffer[] = [headerPart];
  if (header) parts.push(referenceDigestBytes(headerPart));
  if (dsl > 0) {
    parts.push(dataPart);
    if (data) parts.push(referenceDigestBytes(dataPart));
  }
  return Buffer.concat(parts);
}
