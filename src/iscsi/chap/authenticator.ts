// Target side of CHAP in the iSCSI security stage (RFC 7143 §12.1.3, RFC 1994):
//   I→T CHAP_A=<A1,A2,...>
//   T→I CHAP_A=<A> CHAP_I=<I> CHAP_C=<C>
//   I→T CHAP_N=<N> CHAP_R=<R> [CHAP_I=<I'> CHAP_C=<C'>]   (the latter two: mutual)
//   T→I [CHAP_N=<N'> CHAP_R=<R'>]
// Failure reasons are safe to log: they never contain a secret or a digest.

import { timingSafeEqual } from 'node:crypto';
import { chapDigestLength, chapResponse, isChapAlgorithm, SUPPORTED_CHAP_ALGORITHMS, type ChapAlgorithm } from './algorithms.js';
import { decodeBinaryValue, encodeHexValue } from './binary.js';
import type { ChapCredentials } from './credentials.js';

/** Bound on decoded CHAP_C / CHAP_R (RFC 7143 §12.1.3 leaves it open; LIO uses 1024). */
export const MAX_CHAP_BINARY_BYTES = 1024;

export type ChapStep =
  /** Send these pairs (maybe none) and wait for the initiator's next PDU. */
  | { kind: 'continue'; pairs: Array<[string, string]> }
  /** The initiator is authenticated; pairs holds the mutual answer, if asked for. */
  | { kind: 'success'; pairs: Array<[string, string]>; user: string }
  /** Authentication failure (Login status 02/01). */
  | { kind: 'failure'; reason: string };

export type ChapState = 'algorithm' | 'response' | 'done' | 'failed';

export interface ChapAuthenticatorOptions {
  /** Credentials for this initiator; absent → every response fails. */
  credentials?: ChapCredentials;
  randomBytes(n: number): Buffer;
  /** Algorithms we accept (default: MD5, SHA-1, SHA-256, SHA3-256). */
  algorithms?: readonly ChapAlgorithm[];
}

export class ChapAuthenticator {
  #state: ChapState = 'algorithm';
  #algorithm: ChapAlgorithm = 5;
  #id = 0;
  #challenge: Buffer = Buffer.alloc(0);
  readonly #options: ChapAuthenticatorOptions;

  constructor(options: ChapAuthenticatorOptions) {
    this.#options = options;
  }

  get state(): ChapState {
    return this.#state;
  }

  get algorithm(): ChapAlgorithm | undefined {
    return this.#state === 'algorithm' ? undefined : this.#algorithm;
  }

  handle(pairs: ReadonlyArray<readonly [string, string]>): ChapStep {
    const keys = new Map<string, string>();
    for (const [k, v] of pairs) {
      if (keys.has(k)) return this.#fail(`${k} sent twice`);
      keys.set(k, v);
    }
    switch (this.#state) {
      case 'algorithm':
        return this.#onAlgorithm(keys);
      case 'response':
        return this.#onResponse(keys);
      case 'done':
        return keys.size === 0 ? { kind: 'continue', pairs: [] } : this.#fail('CHAP keys after authentication completed');
      case 'failed':
        return { kind: 'failure', reason: 'authentication already failed' };
    }
  }

  #onAlgorithm(keys: Map<string, string>): ChapStep {
    if (keys.size === 0) return { kind: 'continue', pairs: [] };
    const offered = keys.get('CHAP_A');
    if (offered === undefined || keys.size !== 1) return this.#fail('expected CHAP_A alone');
    const accepted = this.#options.algorithms ?? SUPPORTED_CHAP_ALGORITHMS;
    let chosen: ChapAlgorithm | undefined;
    for (const item of offered.split(',')) {
      const n = /^[0-9]{1,3}$/.test(item) ? Number(item) : NaN;
      if (isChapAlgorithm(n) && accepted.includes(n)) {
        chosen = n;
        break;
      }
    }
    if (chosen === undefined) return this.#fail(`no supported CHAP algorithm in CHAP_A=${offered.slice(0, 64)}`);
    this.#algorithm = chosen;
    this.#id = this.#options.randomBytes(1)[0] ?? 0;
    this.#challenge = Buffer.from(this.#options.randomBytes(chapDigestLength(chosen)));
    this.#state = 'response';
    return {
      kind: 'continue',
      pairs: [
        ['CHAP_A', String(chosen)],
        ['CHAP_I', String(this.#id)],
        ['CHAP_C', encodeHexValue(this.#challenge)],
      ],
    };
  }

  #onResponse(keys: Map<string, string>): ChapStep {
    if (keys.size === 0) return { kind: 'continue', pairs: [] };
    for (const k of keys.keys()) {
      if (k !== 'CHAP_N' && k !== 'CHAP_R' && k !== 'CHAP_I' && k !== 'CHAP_C') return this.#fail(`unexpected ${k}`);
    }
    const name = keys.get('CHAP_N');
    const responseText = keys.get('CHAP_R');
    if (name === undefined || responseText === undefined) return this.#fail('CHAP_N and CHAP_R required');
    const creds = this.#options.credentials;
    if (!creds || creds.userid === '' || creds.password === '') return this.#fail('no CHAP credentials configured for this initiator');
    if (name !== creds.userid) return this.#fail('CHAP_N does not match the configured user');
    const response = decodeBinaryValue(responseText, MAX_CHAP_BINARY_BYTES);
    if (!response) return this.#fail('CHAP_R is not a valid binary value');
    const expected = chapResponse(this.#algorithm, this.#id, creds.password, this.#challenge);
    if (response.length !== expected.length || !timingSafeEqual(response, expected)) {
      return this.#fail('CHAP_R does not match');
    }

    const mutualId = keys.get('CHAP_I');
    const mutualChallengeText = keys.get('CHAP_C');
    if (mutualId === undefined && mutualChallengeText === undefined) {
      this.#state = 'done';
      return { kind: 'success', pairs: [], user: name };
    }
    // Mutual CHAP: the initiator authenticates the target.
    if (mutualId === undefined || mutualChallengeText === undefined) return this.#fail('mutual CHAP needs both CHAP_I and CHAP_C');
    const id = /^[0-9]{1,3}$/.test(mutualId) ? Number(mutualId) : /^0[xX][0-9a-fA-F]{1,2}$/.test(mutualId) ? Number.parseInt(mutualId.slice(2), 16) : NaN;
    if (!(id >= 0 && id <= 255)) return this.#fail('CHAP_I out of range');
    const mutualChallenge = decodeBinaryValue(mutualChallengeText, MAX_CHAP_BINARY_BYTES);
    if (!mutualChallenge) return this.#fail('CHAP_C is not a valid binary value');
    // RFC 7143 §12.1.3: a challenge equal to ours is a reflection attack.
    if (mutualChallenge.equals(this.#challenge)) return this.#fail('CHAP_C reflects the target challenge');
    if (!creds.mutualUserid || !creds.mutualPassword) return this.#fail('mutual CHAP requested but not configured');
    // RFC 7143 §12.1.3: the secrets for both directions MUST differ.
    if (creds.mutualPassword === creds.password) return this.#fail('mutual CHAP secret equals the initiator secret');
    const answer = chapResponse(this.#algorithm, id, creds.mutualPassword, mutualChallenge);
    this.#state = 'done';
    return {
      kind: 'success',
      pairs: [
        ['CHAP_N', creds.mutualUserid],
        ['CHAP_R', encodeHexValue(answer)],
      ],
      user: name,
    };
  }

  #fail(reason: string): ChapStep {
    this.#state = 'failed';
    return { kind: 'failure', reason };
  }
}
