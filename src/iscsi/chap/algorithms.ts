// CHAP digest algorithms (RFC 1994 §4.1; RFC 7143 §12.1.3). Codes are the PPP
// authentication algorithm numbers from the IANA registry: 5 MD5, 6 SHA-1,
// 7 SHA-256, 8 SHA3-256 (the last three as implemented by libiscsi and LIO).

import { createHash } from 'node:crypto';

export type ChapAlgorithm = 5 | 6 | 7 | 8;

interface AlgorithmInfo {
  readonly hash: string;
  readonly length: number;
}

const ALGORITHMS: ReadonlyMap<number, AlgorithmInfo> = new Map([
  [5, { hash: 'md5', length: 16 }],
  [6, { hash: 'sha1', length: 20 }],
  [7, { hash: 'sha256', length: 32 }],
  [8, { hash: 'sha3-256', length: 32 }],
]);

/** Our preference when we choose: the initiator's order decides, this only filters. */
export const SUPPORTED_CHAP_ALGORITHMS: readonly ChapAlgorithm[] = [7, 8, 6, 5];

export function isChapAlgorithm(n: number): n is ChapAlgorithm {
  return ALGORITHMS.has(n);
}

/** Digest (and challenge) length in bytes. */
export function chapDigestLength(alg: ChapAlgorithm): number {
  return ALGORITHMS.get(alg)!.length;
}

/** RFC 1994 §4.1: Response = H(Identifier || secret || Challenge), the identifier being one octet. */
export function chapResponse(alg: ChapAlgorithm, id: number, secret: Buffer | string, challenge: Buffer): Buffer {
  const h = createHash(ALGORITHMS.get(alg)!.hash);
  h.update(Buffer.of(id & 0xff));
  h.update(typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret);
  h.update(challenge);
  return h.digest();
}
