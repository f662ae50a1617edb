// Binary values in text keys (RFC 7143 §6.1): "0x"/"0X" + hex digits, or
// "0b"/"0B" + base64. Used by CHAP_C and CHAP_R.

const HEX_RE = /^[0-9a-fA-F]+$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decode a binary value of at most maxBytes; undefined when malformed, empty or too long. */
export function decodeBinaryValue(text: string, maxBytes: number): Buffer | undefined {
  if (text.length < 3 || text[0] !== '0') return undefined;
  const body = text.slice(2);
  const prefix = text[1];
  if (prefix === 'x' || prefix === 'X') {
    if (!HEX_RE.test(body)) return undefined;
    // An odd digit count implies a leading zero nibble.
    const even = body.length % 2 === 1 ? `0${body}` : body;
    if (even.length / 2 > maxBytes) return undefined;
    return Buffer.from(even, 'hex');
  }
  if (prefix === 'b' || prefix === 'B') {
    if (!BASE64_RE.test(body) || (body.length / 4) * 3 > maxBytes + 2) return undefined;
    const buf = Buffer.from(body, 'base64');
    if (buf.length === 0 || buf.length > maxBytes) return undefined;
    return buf;
  }
  return undefined;
}

export function encodeHexValue(buf: Buffer): string {
  return `0x${buf.toString('hex')}`;
}
