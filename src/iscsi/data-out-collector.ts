// Collects the Data-Out of one write task: immediate data, the unsolicited
// burst and the R2T-solicited bursts (RFC 7143 §4.2.5.2 and §11.7, §11.8).
//
// Sans-IO: the owner feeds Data-Out PDUs in and sends the R2Ts this asks for.
// Segments are kept as the framer handed them out (views into socket chunks),
// so write data reaches the backstore without a copy.

import { RESERVED_TAG } from '../pdu/types.js';

export interface R2tRequest {
  ttt: number;
  r2tSn: number;
  bufferOffset: number;
  desiredLength: number;
}

export interface BurstLimits {
  maxBurstLength: number;
  maxOutstandingR2T: number;
}

export type DataOutVerdict =
  | { kind: 'ok' }
  /** Protocol violation: at ERL 0 the connection is dropped (RFC 7143 §7.1.4). */
  | { kind: 'fatal'; reason: string };

interface Burst {
  ttt: number;
  start: number;
  end: number;
  next: number;
  dataSn: number;
}

export class DataOutCollector {
  /** Bytes accepted so far, contiguous from offset 0. */
  #received = 0;
  readonly #segments: Buffer[] = [];
  /** End of the unsolicited region (immediate data + unsolicited Data-Out). */
  readonly unsolicitedEnd: number;
  #unsolicited: Burst | undefined;
  readonly #bursts = new Map<number, Burst>();
  /** Offset from which no R2T has been issued yet. */
  #solicitNext: number;
  #wanted = 0;
  #r2tSn = 0;
  #waiter: { resolve: (b: Buffer[]) => void; reject: (e: Error) => void } | undefined;
  #failed: Error | undefined;
  /** Last time data arrived or was asked for (for the Data-Out timeout). */
  lastActivity = Date.now();

  constructor(
    readonly expectedLength: number,
    immediate: Buffer,
    unsolicitedFollows: boolean,
    firstBurstLength: number,
    readonly limits: BurstLimits,
    readonly allocateTtt: () => number,
    readonly sendR2t: (r: R2tRequest) => void,
  ) {
    this.unsolicitedEnd = unsolicitedFollows ? Math.min(firstBurstLength, expectedLength) : immediate.length;
    if (immediate.length > 0) {
      this.#segments.push(immediate);
      this.#received = immediate.length;
    }
    if (unsolicitedFollows && this.#received < this.unsolicitedEnd) {
      this.#unsolicited = { ttt: RESERVED_TAG, start: this.#received, end: this.unsolicitedEnd, next: this.#received, dataSn: 0 };
    }
    this.#solicitNext = this.unsolicitedEnd;
  }

  get received(): number {
    return this.#received;
  }

  /** True while R2Ts or unsolicited data are still outstanding. */
  get transferring(): boolean {
    return this.#bursts.size > 0 || this.#unsolicited !== undefined;
  }

  /** The SCSI layer wants `length` bytes from offset 0. */
  want(length: number): Promise<Buffer[]> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#waiter) return Promise.reject(new Error('data already requested'));
    this.#wanted = Math.min(length, this.expectedLength);
    this.lastActivity = Date.now();
    if (this.#received >= this.#wanted) return Promise.resolve(this.#take());
    const p = new Promise<Buffer[]>((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
    this.#solicit();
    return p;
  }

  /** Feed one Data-Out PDU for this task. */
  accept(ttt: number, dataSn: number, bufferOffset: number, data: Buffer, final: boolean): DataOutVerdict {
    const burst = ttt === RESERVED_TAG ? this.#unsolicited : this.#bursts.get(ttt);
    if (!burst) {
      // Data for a burst we did not open (or already closed), e.g. unsolicited data with InitialR2T=Yes.
      return { kind: 'fatal', reason: `Data-Out with TTT 0x${ttt.toString(16)} matches no open burst` };
    }
    if (dataSn !== burst.dataSn) return { kind: 'fatal', reason: `Data-Out DataSN ${dataSn}, expected ${burst.dataSn}` };
    // DataPDUInOrder=Yes (we always negotiate it): offsets must be consecutive.
    if (bufferOffset !== burst.next) {
      return { kind: 'fatal', reason: `Data-Out buffer offset ${bufferOffset}, expected ${burst.next}` };
    }
    const end = bufferOffset + data.length;
    if (end > burst.end) return { kind: 'fatal', reason: `Data-Out overruns its burst (${end} > ${burst.end})` };
    if (final !== (end === burst.end)) {
      // RFC 7143 §11.7.1: F marks the last PDU of the sequence; an early F truncates it.
      return { kind: 'fatal', reason: `Data-Out F bit ${final ? 'set' : 'clear'} at offset ${end} of burst ending ${burst.end}` };
    }
    if (data.length > 0 && this.#received !== bufferOffset) {
      // DataSequenceInOrder=Yes (always negotiated): bursts complete in offset order.
      return { kind: 'fatal', reason: `Data-Out sequence out of order at offset ${bufferOffset} (have ${this.#received})` };
    }
    burst.dataSn++;
    burst.next = end;
    this.lastActivity = Date.now();
    if (data.length > 0) {
      this.#segments.push(data);
      this.#received = end;
    }
    if (final) {
      if (burst.ttt === RESERVED_TAG) this.#unsolicited = undefined;
      else this.#bursts.delete(burst.ttt);
    }
    if (this.#waiter && this.#received >= this.#wanted) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w.resolve(this.#take());
    } else if (final) {
      this.#solicit();
    }
    return { kind: 'ok' };
  }

  /** The SCSI layer is waiting for data that has not arrived. */
  get waiting(): boolean {
    return this.#waiter !== undefined;
  }

  /** Abort: pending want() rejects, open R2Ts are forgotten. */
  fail(error: Error): void {
    this.#failed = error;
    this.#bursts.clear();
    this.#unsolicited = undefined;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.reject(error);
  }

  /** Target transfer tags of R2Ts still open (for cleanup). */
  openTags(): number[] {
    return [...this.#bursts.keys()];
  }

  #solicit(): void {
    // R2Ts go out only for the solicited region, MaxBurstLength each, at most MaxOutstandingR2T at once.
    while (this.#solicitNext < this.#wanted && this.#bursts.size < this.limits.maxOutstandingR2T) {
      const start = this.#solicitNext;
      const len = Math.min(this.limits.maxBurstLength, this.#wanted - start);
      const ttt = this.allocateTtt();
      this.#bursts.set(ttt, { ttt, start, end: start + len, next: start, dataSn: 0 });
      this.#solicitNext = start + len;
      this.sendR2t({ ttt, r2tSn: this.#r2tSn++, bufferOffset: start, desiredLength: len });
    }
  }

  #take(): Buffer[] {
    const out: Buffer[] = [];
    let left = this.#wanted;
    for (const s of this.#segments) {
      if (left <= 0) break;
      if (s.length <= left) out.push(s);
      else out.push(s.subarray(0, left));
      left -= s.length;
    }
    return out;
  }
}
