// The session's command window (RFC 7143 §4.2.2.1, §3.2.2.1).
//
// Non-immediate commands carry CmdSN and must be delivered to the SCSI layer in
// CmdSN order; a command outside [ExpCmdSN, MaxCmdSN] is silently dropped.
// Immediate commands are delivered at once and do not advance ExpCmdSN.
// MaxCmdSN grows by one when a non-immediate command's status has been sent, as
// LIO does, so at most `depth` commands are ever outstanding: memory stays
// bounded whatever the initiator claims.

import { snAdd, snInWindow, snLt } from './serial.js';
import { U32Map } from '../util/u32-map.js';

export type WindowVerdict = 'deliver' | 'queued' | 'drop';

export class CommandWindow<T> {
  expCmdSn: number;
  maxCmdSn: number;
  /** Commands that arrived ahead of a gap, keyed by CmdSN (not a Map: see src/util/u32-map.ts). */
  readonly #pending = new U32Map<T>();

  constructor(initialCmdSn: number, readonly depth: number) {
    this.expCmdSn = initialCmdSn >>> 0;
    this.maxCmdSn = snAdd(initialCmdSn, depth - 1);
  }

  /**
   * Offer a non-immediate command. 'deliver' means the caller runs it now and then
   * calls drain() for any queued successors.
   */
  offer(cmdSn: number, item: T): WindowVerdict {
    if (!snInWindow(cmdSn, this.expCmdSn, this.maxCmdSn)) return 'drop';
    if (cmdSn === this.expCmdSn) {
      this.expCmdSn = snAdd(this.expCmdSn, 1);
      return 'deliver';
    }
    if (this.#pending.has(cmdSn)) return 'drop';
    this.#pending.set(cmdSn, item);
    return 'queued';
  }

  /** Queued commands that are now in order. */
  drain(): T[] {
    const out: T[] = [];
    for (;;) {
      const next = this.#pending.get(this.expCmdSn);
      if (next === undefined) return out;
      this.#pending.delete(this.expCmdSn);
      this.expCmdSn = snAdd(this.expCmdSn, 1);
      out.push(next);
    }
  }

  /** A non-immediate command finished (its status was sent): open one more slot. */
  complete(): void {
    this.maxCmdSn = snAdd(this.maxCmdSn, 1);
  }

  /** Immediate commands must carry CmdSN = ExpCmdSN … but RFC 7143 §4.2.2.1 only asks targets to not advance. */
  isStale(cmdSn: number): boolean {
    return snLt(cmdSn, this.expCmdSn);
  }

  get queuedCount(): number {
    return this.#pending.size;
  }

  /** Remove queued commands (e.g. on session close) and return them. */
  clear(): T[] {
    // In CmdSN order from ExpCmdSN, as they would have run.
    const items = this.#pending
      .keysSnapshot()
      .sort((a, b) => ((a - this.expCmdSn) >>> 0) - ((b - this.expCmdSn) >>> 0))
      .map((sn) => this.#pending.get(sn) as T);
    this.#pending.clear();
    return items;
  }
}
