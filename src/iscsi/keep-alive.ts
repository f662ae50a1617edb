// Target-side liveness of one connection: the login timeout and NOP-In pings
// (RFC 7143 §11.18, §11.19, §7.1). Sans-IO: the connection feeds it the clock
// and acts on its verdicts; one ping is outstanding at a time.

import { RESERVED_TAG } from '../pdu/types.js';

export interface KeepAliveOptions {
  /** Seconds of silence before a NOP-In ping; 0 = never ping. */
  readonly nopInInterval: number;
  /** Seconds a ping may stay unanswered. */
  readonly nopInTimeout: number;
  /** Seconds the whole login phase may take without traffic. */
  readonly loginTimeout: number;
}

export type KeepAliveVerdict = { kind: 'ok' } | { kind: 'ping' } | { kind: 'fail'; reason: string };

const OK: KeepAliveVerdict = { kind: 'ok' };
const PING: KeepAliveVerdict = { kind: 'ping' };

export class KeepAlive {
  #lastRx: number;
  #pingTtt = RESERVED_TAG;
  #deadline = 0;

  constructor(
    readonly options: KeepAliveOptions,
    now: number,
  ) {
    this.#lastRx = now;
  }

  /** Any PDU arrived. */
  received(now: number): void {
    this.#lastRx = now;
  }

  /** During login: has the peer been silent too long? */
  loginExpired(now: number): boolean {
    return now - this.#lastRx > this.options.loginTimeout * 1000;
  }

  /** In full feature phase: nothing to do, send a ping now, or give up on the peer. */
  check(now: number): KeepAliveVerdict {
    if (this.#deadline !== 0) return now > this.#deadline ? { kind: 'fail', reason: 'NOP-In ping timed out' } : OK;
    const interval = this.options.nopInInterval * 1000;
    return interval > 0 && now - this.#lastRx >= interval ? PING : OK;
  }

  /** The ping with this TTT went out (after check() said 'ping'). */
  pinged(ttt: number, now: number): void {
    this.#pingTtt = ttt;
    this.#deadline = now + this.options.nopInTimeout * 1000;
  }

  /**
   * A NOP-Out with the reserved ITT answers a ping (RFC 7143 §11.18): true when
   * its TTT is the outstanding ping's, which is then settled.
   */
  answered(ttt: number): boolean {
    if (ttt === RESERVED_TAG || ttt !== this.#pingTtt) return false;
    this.#pingTtt = RESERVED_TAG;
    this.#deadline = 0;
    return true;
  }
}
