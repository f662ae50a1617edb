// Text parameters: key=value records, each NUL-terminated (RFC 7143 §6.1).
//
// Keys are at most 63 bytes of letters, digits, '.', '-', '+', '@', '_'
// (§6.1); values are UTF-8 and at most 8192 bytes (255 for most keys, but the
// caller knows which — this layer only enforces the absolute maximum).
// A text or login exchange may split the text across PDUs with the C bit set
// (§11.10.2, §11.12.2); TextAccumulator joins those segments.

export const MAX_KEY_LENGTH = 63;
export const MAX_VALUE_LENGTH = 8192;

export type TextParseResult = { ok: true; pairs: Array<[string, string]> } | { ok: false; message: string };

const KEY_CHAR = /^[A-Za-z0-9.\-+@_]+$/;

/**
 * Parses a complete text data segment. Every record, including the last,
 * must be NUL-terminated. Empty records (extra NULs) are skipped.
 */
export function parseTextParameters(data: Buffer): TextParseResult {
  const pairs: Array<[string, string]> = [];
  const seen = new Set<string>();
  let start = 0;
  while (start < data.length) {
    let nul = data.indexOf(0, start);
    if (nul < 0) {
      return { ok: false, message: 'last key=value record is not NUL-terminated' };
    }
    if (nul === start) {
      start = nul + 1;
      continue;
    }
    const eq = data.indexOf(0x3d /* '=' */, start);
    if (eq < 0 || eq > nul) {
      return { ok: false, message: `record without '=': ${preview(data, start, nul)}` };
    }
    const keyLength = eq - start;
    if (keyLength === 0) return { ok: false, message: 'empty key' };
    if (keyLength > MAX_KEY_LENGTH) {
      return { ok: false, message: `key longer than ${MAX_KEY_LENGTH} bytes: ${preview(data, start, eq)}` };
    }
    const key = data.toString('latin1', start, eq);
    if (!KEY_CHAR.test(key)) return { ok: false, message: `invalid character in key ${JSON.stringify(key)}` };
    const valueLength = nul - eq - 1;
    if (valueLength > MAX_VALUE_LENGTH) {
      return { ok: false, message: `value of ${key} is ${valueLength} bytes, over ${MAX_VALUE_LENGTH}` };
    }
    if (seen.has(key)) return { ok: false, message: `duplicate key ${key}` };
    seen.add(key);
    pairs.push([key, data.toString('utf8', eq + 1, nul)]);
    start = nul + 1;
  }
  return { ok: true, pairs };
}

function preview(data: Buffer, from: number, to: number): string {
  return JSON.stringify(data.toString('latin1', from, Math.min(to, from + 64)));
}

export function encodeTextParameters(pairs: ReadonlyArray<readonly [string, string]>): Buffer {
  let s = '';
  for (const [k, v] of pairs) s += `${k}=${v}\0`;
  return Buffer.from(s, 'utf8');
}

export type TextAccumulatorResult =
  | { kind: 'partial' }
  | { kind: 'complete'; pairs: Array<[string, string]> }
  | { kind: 'error'; message: string };

/**
 * Joins the data segments of a C-bit continued sequence (C=1 … C=0) and parses
 * the result once the last segment (C=0) arrives. After 'complete' or 'error'
 * the accumulator is empty again and can take the next sequence.
 */
export class TextAccumulator {
  private segments: Buffer[] = [];
  private total = 0;

  /** @param maxTotalBytes cap on the joined text, checked on every push. */
  constructor(private readonly maxTotalBytes: number) {}

  /** True while a continued sequence is in progress. */
  get pending(): boolean {
    return this.segments.length > 0;
  }

  /** @param continued the PDU's C bit: more text follows in the next PDU. */
  push(segment: Buffer, continued: boolean): TextAccumulatorResult {
    this.total += segment.length;
    if (this.total > this.maxTotalBytes) {
      const total = this.total;
      this.reset();
      return { kind: 'error', message: `text of ${total} bytes exceeds the ${this.maxTotalBytes}-byte limit` };
    }
    if (segment.length > 0) this.segments.push(segment);
    if (continued) {
      if (this.segments.length === 0) this.segments.push(Buffer.alloc(0));
      return { kind: 'partial' };
    }
    const joined = this.segments.length === 1 ? this.segments[0] : Buffer.concat(this.segments, this.total);
    this.reset();
    const r = parseTextParameters(joined);
    return r.ok ? { kind: 'complete', pairs: r.pairs } : { kind: 'error', message: r.message };
  }

  reset(): void {
    this.segments = [];
    this.total = 0;
  }
}
