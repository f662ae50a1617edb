// Value syntax of text keys (RFC 7143 §6.1): numbers, Booleans and lists.

/**
 * numerical-value: a decimal constant or a hex constant ("0x..."), at most
 * 2^64-1; we only need values that fit a double exactly. Returns undefined for
 * anything else (including the base64 form, which no key we negotiate uses).
 */
export function parseNumber(text: string): number | undefined {
  let n: number;
  if (/^[0-9]{1,16}$/.test(text)) n = Number(text);
  else if (/^0[xX][0-9a-fA-F]{1,13}$/.test(text)) n = Number.parseInt(text.slice(2), 16);
  else return undefined;
  return Number.isSafeInteger(n) ? n : undefined;
}

export function parseBoolean(text: string): boolean | undefined {
  if (text === 'Yes') return true;
  if (text === 'No') return false;
  return undefined;
}

export function formatBoolean(value: boolean): string {
  return value ? 'Yes' : 'No';
}

/** A list value: comma-separated, empty items dropped (they are not values). */
export function parseList(text: string): string[] {
  return text.split(',').filter((v) => v.length > 0);
}

export function inRange(n: number, range: { readonly min: number; readonly max: number } | undefined): boolean {
  return range === undefined || (n >= range.min && n <= range.max);
}
