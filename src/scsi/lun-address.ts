// LUN field encoding (SAM-5 §4.7): the 8-byte LUN of a task maps to a LUN number.
// Only single-level peripheral (00b) and flat (01b) addressing are used by
// iSCSI initiators; anything else addresses no logical unit.

/** Decode an 8-byte LUN field to a LUN number, or undefined for an unsupported encoding. */
export function decodeLun(field: Buffer): number | undefined {
  if (field.length < 2) return undefined;
  for (let i = 2; i < field.length && i < 8; i++) if (field[i] !== 0) return undefined;
  const method = field[0] >> 6;
  if (method === 0b00) {
    // Peripheral device addressing: bus identifier must be 0 for a single-level LUN.
    if ((field[0] & 0x3f) !== 0) return undefined;
    return field[1];
  }
  if (method === 0b01) return ((field[0] & 0x3f) << 8) | field[1];
  return undefined;
}

/** Encode a LUN number (0..16383): peripheral addressing below 256, flat space above (what Linux expects). */
export function encodeLun(lun: number): Buffer {
  const b = Buffer.alloc(8);
  if (lun < 256) {
    b[1] = lun;
  } else {
    b[0] = 0x40 | ((lun >> 8) & 0x3f);
    b[1] = lun & 0xff;
  }
  return b;
}
