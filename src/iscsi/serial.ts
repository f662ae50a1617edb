// 32-bit serial number arithmetic (RFC 1982, used for CmdSN/StatSN/DataSN by RFC 7143 §4.2.2.1).

export function snAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** a < b in serial arithmetic (undefined for a distance of exactly 2^31: treated as false). */
export function snLt(a: number, b: number): boolean {
  const d = (b - a) >>> 0;
  return d !== 0 && d < 0x80000000;
}

export function snLte(a: number, b: number): boolean {
  return a === b || snLt(a, b);
}

/** a within the closed window [lo, hi]. */
export function snInWindow(a: number, lo: number, hi: number): boolean {
  return snLte(lo, a) && snLte(a, hi);
}
