// Full feature phase Text Request / Text Response exchanges (RFC 7143 §11.10,
// §11.11): SendTargets, FFP renegotiation of "Use: ALL" keys, C-bit split
// requests and long responses pulled with the Target Transfer Tag.

import { RESERVED_TAG, type TextRequest } from '../../pdu/types.js';
import { KEYS } from '../negotiation/keys.js';
import { Negotiator, type TextPair } from '../negotiation/negotiate.js';
import { parseNumber } from '../negotiation/values.js';
import { encodeTextParameters, parseTextParameters } from '../../pdu/text-keys.js';
import { sendTargetsRecords, type SendTargetsEntry } from './send-targets.js';

const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024;

export interface TextExchangeOptions {
  /** The initiator's MaxRecvDataSegmentLength (current value, read at each response). */
  maxXmitDataSegmentLength(): number;
  sessionType: 'Normal' | 'Discovery';
  /** 'All' | an iSCSI target name | '' (the session's target, Normal sessions). */
  sendTargets(query: string): SendTargetsEntry[];
  /** Keys negotiable in full feature phase ("Use: ALL", RFC 7143 §13). */
  negotiableParameters?: {
    /** Our values (TPG parameters). */
    local: Readonly<Record<string, string>>;
    /** The initiator declared a new MaxRecvDataSegmentLength: our new send limit. */
    onMaxXmitDataSegmentLength?(bytes: number): void;
  };
  /** Cap on a request accumulated over C=1 PDUs (default 64 KiB). */
  maxRequestBytes?: number;
}

export type TextStep =
  | { kind: 'respond'; final: boolean; continue: boolean; ttt: number; data: Buffer }
  | { kind: 'reject'; reason: 'protocol' | 'invalid-field' };

export class TextExchange {
  readonly #options: TextExchangeOptions;
  readonly #negotiator: Negotiator;
  readonly #maxRequest: number;
  #itt: number | undefined;
  #ttt: number = RESERVED_TAG;
  #nextTtt = 1;
  #inbound: Buffer[] = [];
  #inboundBytes = 0;
  #outbound: { data: Buffer; offset: number; final: boolean } | undefined;

  constructor(options: TextExchangeOptions) {
    this.#options = options;
    this.#maxRequest = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    this.#negotiator = new Negotiator({
      role: 'target',
      sessionType: options.sessionType,
      local: options.negotiableParameters?.local ?? {},
    });
  }

  /** Handle one Text Request; returns the Text Response fields to send (the caller adds StatSN/ExpCmdSN/MaxCmdSN). */
  handle(req: TextRequest): TextStep {
    // RFC 7143 §11.10.2: a request with C=1 cannot be final.
    if (req.final && req.continue) return this.#reject('protocol');
    if (req.ttt === RESERVED_TAG) {
      // RFC 7143 §11.10.4: the reserved TTT starts a new exchange and abandons the previous one.
      this.#reset();
      this.#itt = req.itt;
    } else if (req.ttt !== this.#ttt || req.itt !== this.#itt) {
      return this.#reject('invalid-field');
    }

    if (this.#outbound) {
      // Pulling the rest of a long response: the request must be empty.
      if (req.data.length > 0 || req.continue) return this.#reject('protocol');
      return this.#nextPiece();
    }

    this.#inboundBytes += req.data.length;
    if (this.#inboundBytes > this.#maxRequest) return this.#reject('protocol');
    this.#inbound.push(req.data);
    if (req.continue) {
      // RFC 7143 §11.11: acknowledge a partial request with an empty response, F=0 and a TTT.
      return { kind: 'respond', final: false, continue: false, ttt: this.#allocateTtt(), data: Buffer.alloc(0) };
    }
    const text = this.#inbound.length === 1 ? this.#inbound[0]! : Buffer.concat(this.#inbound);
    this.#inbound = [];
    this.#inboundBytes = 0;
    const parsed = parseTextParameters(text);
    if (!parsed.ok) return this.#reject('protocol');

    const answers = this.#answer(parsed.pairs);
    if (!answers) return this.#reject('protocol');
    this.#outbound = { data: encodeTextParameters(answers), offset: 0, final: req.final };
    return this.#nextPiece();
  }

  #answer(pairs: TextPair[]): TextPair[] | undefined {
    const out: TextPair[] = [];
    const seen = new Set<string>();
    for (const [key, value] of pairs) {
      if (key === 'SendTargets') {
        if (seen.has(key)) return undefined;
        seen.add(key);
        // An empty value means "the current target": there is none in a discovery session.
        if (value === '' && this.#options.sessionType === 'Discovery') out.push([key, 'Reject']);
        else out.push(...sendTargetsRecords(this.#options.sendTargets(value)));
        continue;
      }
      const def = KEYS.get(key);
      if (!def) {
        out.push([key, 'NotUnderstood']);
        continue;
      }
      if (!def.fullFeature || def.kind === 'auth') {
        // Login-only keys cannot be renegotiated in full feature phase.
        out.push([key, 'Reject']);
        continue;
      }
      const result = this.#negotiator.respond([[key, value]], 'full-feature');
      if (!result.ok) return undefined;
      out.push(...result.answers);
      if (key === 'MaxRecvDataSegmentLength') {
        const declared = parseNumber(this.#negotiator.peerDeclaration(key) ?? '');
        if (declared !== undefined && declared === parseNumber(value)) {
          this.#options.negotiableParameters?.onMaxXmitDataSegmentLength?.(declared);
        }
      }
    }
    return out;
  }

  #nextPiece(): TextStep {
    const pending = this.#outbound!;
    const max = Math.max(1, Math.floor(this.#options.maxXmitDataSegmentLength()));
    const remaining = pending.data.length - pending.offset;
    if (remaining > max) {
      const data = pending.data.subarray(pending.offset, pending.offset + max);
      pending.offset += max;
      // RFC 7143 §11.11.4: more to send → F=0, C=1 and a TTT the initiator echoes to pull the rest.
      return { kind: 'respond', final: false, continue: true, ttt: this.#allocateTtt(), data };
    }
    const data = pending.data.subarray(pending.offset);
    this.#outbound = undefined;
    if (!pending.final) {
      // The initiator has more to say in this exchange: keep it open with a TTT.
      return { kind: 'respond', final: false, continue: false, ttt: this.#allocateTtt(), data };
    }
    this.#ttt = RESERVED_TAG;
    this.#itt = undefined;
    this.#negotiator.newExchange();
    return { kind: 'respond', final: true, continue: false, ttt: RESERVED_TAG, data };
  }

  #allocateTtt(): number {
    const ttt = this.#nextTtt;
    this.#nextTtt = this.#nextTtt >= 0xfffffffe ? 1 : this.#nextTtt + 1;
    this.#ttt = ttt;
    return ttt;
  }

  #reset(): void {
    this.#inbound = [];
    this.#inboundBytes = 0;
    this.#outbound = undefined;
    this.#ttt = RESERVED_TAG;
    this.#negotiator.newExchange();
  }

  #reject(reason: 'protocol' | 'invalid-field'): TextStep {
    this.#reset();
    this.#itt = undefined;
    return { kind: 'reject', reason };
  }
}
