// Text-mode negotiation engine (RFC 7143 §6.2), usable from either side:
// the target answers the initiator's offers (respond), may propose keys of its
// own (proposals) and checks the initiator's answers to them; the initiator
// offers keys (offer) and checks the target's answers (acceptResponse).

import { KEYS, RESPONSE_CONSTANTS, type KeyDefinition } from './keys.js';
import { formatBoolean, inRange, parseBoolean, parseList, parseNumber } from './values.js';
import { checkAnswer, localBoolean, localList, localNumber, localValue, senderAllows, stageAllows, wouldChangeDefault } from './rules.js';
import {
  DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH,
  TARGET_DEFAULTS,
  type ConnectionParameters,
  type SessionParameters,
  type SessionType,
} from './parameters.js';

export type NegotiationRole = 'target' | 'initiator';
export type NegotiationStage = 'security' | 'operational' | 'full-feature';
export type TextPair = [string, string];

export type NegotiationErrorCode =
  /** RFC 7143 §6.2: a key declared or negotiated twice in one negotiation. */
  | 'duplicate-key'
  /** A key this stage may not carry (RFC 7143 §12: only security keys in the security stage). */
  | 'wrong-stage'
  /** A key the peer is not allowed to send (e.g. TargetAlias from an initiator). */
  | 'wrong-sender'
  /** The peer's answer to one of our offers is not admissible (RFC 7143 §6.2.1, §6.2.2). */
  | 'invalid-response'
  /** The negotiation ended on a value our configuration cannot accept. */
  | 'unacceptable';

export interface NegotiationError {
  code: NegotiationErrorCode;
  key: string;
  message: string;
}

export type ReceiveResult =
  | {
      ok: true;
      /** Answers to send, in the order the peer's keys arrived. */
      answers: TextPair[];
      /** Authentication keys (CHAP_*) for the authentication method, in arrival order. */
      authPairs: TextPair[];
    }
  | { ok: false; error: NegotiationError };

export interface NegotiatorOptions {
  role: NegotiationRole;
  sessionType: SessionType;
  /** Our configured values (TPG parameters); missing keys take TARGET_DEFAULTS (target) or RFC defaults. */
  local: Readonly<Record<string, string>>;
}

const NEGOTIATED_KINDS: ReadonlySet<string> = new Set(['list', 'min', 'max', 'and', 'or']);

export class Negotiator {
  readonly role: NegotiationRole;
  readonly sessionType: SessionType;
  readonly #local: Readonly<Record<string, string>>;
  /** Keys the peer sent in this negotiation (login, or one FFP text exchange). */
  readonly #seen = new Set<string>();
  /** Our offers still waiting for the peer's answer: key → the value we offered. */
  readonly #outstanding = new Map<string, string>();
  /** Keys we offered, answered or not. */
  readonly #offered = new Set<string>();
  readonly #results = new Map<string, string>();
  readonly #localDeclarations = new Map<string, string>();
  readonly #peerDeclarations = new Map<string, string>();

  constructor(options: NegotiatorOptions) {
    this.role = options.role;
    this.sessionType = options.sessionType;
    this.#local = options.role === 'target' ? { ...TARGET_DEFAULTS, ...options.local } : { ...options.local };
  }

  /** Target side: answer the initiator's keys. */
  respond(pairs: ReadonlyArray<TextPair>, stage: NegotiationStage): ReceiveResult {
    return this.#receive(pairs, stage);
  }

  /** Initiator side: take the target's answers to our offers (and answer any key the target proposes). */
  acceptResponse(pairs: ReadonlyArray<TextPair>, stage: NegotiationStage): ReceiveResult {
    return this.#receive(pairs, stage);
  }

  /** Offer these keys with our local values; declaratives are recorded as our declarations. */
  offer(names: readonly string[], stage: NegotiationStage): TextPair[] {
    const out: TextPair[] = [];
    for (const name of names) {
      const def = KEYS.get(name);
      if (!def || this.#seen.has(name) || this.#offered.has(name) || !stageAllows(def, stage)) continue;
      if (def.kind === 'declarative' || def.kind === 'numeric-declarative') {
        const value = this.#local[name] ?? def.defaultValue;
        if (value === undefined) continue;
        out.push(this.declare(name, value));
        continue;
      }
      if (!NEGOTIATED_KINDS.has(def.kind)) continue;
      const value = localValue(def, this.#local);
      this.#offered.add(name);
      this.#outstanding.set(name, value);
      out.push([name, value]);
    }
    return out;
  }

  /**
   * Keys we must propose ourselves because the peer left them at a default our
   * configuration would change (e.g. ImmediateData=No configured, or digests
   * required). RFC 7143 §6.2: a key not negotiated keeps its default.
   */
  proposals(stage: NegotiationStage): TextPair[] {
    const names: string[] = [];
    for (const def of KEYS.values()) {
      if (!NEGOTIATED_KINDS.has(def.kind) || !stageAllows(def, stage) || def.phase === 'security') continue;
      if (this.#seen.has(def.name) || this.#offered.has(def.name)) continue;
      if (def.irrelevantInDiscovery && this.sessionType === 'Discovery') continue;
      if (def.name === 'FirstBurstLength' && this.#firstBurstIrrelevant(new Map())) continue;
      if (wouldChangeDefault(def, this.#local)) names.push(def.name);
    }
    return this.offer(names, stage);
  }

  /** Record and return one of our declarations (e.g. our MaxRecvDataSegmentLength). */
  declare(name: string, value?: string): TextPair {
    const v = value ?? this.#local[name] ?? KEYS.get(name)?.defaultValue ?? '';
    this.#localDeclarations.set(name, v);
    this.#offered.add(name);
    return [name, v];
  }

  /** Our offers the peer has not answered yet; a login stage cannot end while any remain (RFC 7143 §11.13.1). */
  get outstanding(): string[] {
    return [...this.#outstanding.keys()];
  }

  /** Whether the peer already sent this key in the current negotiation. */
  hasSeen(name: string): boolean {
    return this.#seen.has(name);
  }

  /** The negotiated value, or undefined when the key was never negotiated. */
  result(name: string): string | undefined {
    return this.#results.get(name);
  }

  /** The value in force: negotiated, else the RFC default. */
  effective(name: string): string | undefined {
    return this.#results.get(name) ?? KEYS.get(name)?.defaultValue;
  }

  peerDeclaration(name: string): string | undefined {
    return this.#peerDeclarations.get(name);
  }

  localDeclaration(name: string): string | undefined {
    return this.#localDeclarations.get(name);
  }

  /**
   * List keys whose value in force (negotiated or RFC default) our
   * configuration does not allow, e.g. HeaderDigest=None when only CRC32C is
   * configured and the key was never negotiated. Checked before full feature phase.
   */
  violations(): string[] {
    const out: string[] = [];
    for (const def of KEYS.values()) {
      if (def.kind !== 'list' || def.phase !== 'operational') continue;
      if (def.irrelevantInDiscovery && this.sessionType === 'Discovery') continue;
      const value = this.effective(def.name);
      if (value !== undefined && !localList(def, this.#local).includes(value)) out.push(def.name);
    }
    return out;
  }

  /** Full feature phase: each Text negotiation is a fresh exchange (RFC 7143 §6.2 applies per exchange). */
  newExchange(): void {
    this.#seen.clear();
    this.#outstanding.clear();
    this.#offered.clear();
  }

  connectionParameters(): ConnectionParameters {
    const declaredRecv = parseNumber(this.#localDeclarations.get('MaxRecvDataSegmentLength') ?? '');
    const peerRecv = parseNumber(this.#peerDeclarations.get('MaxRecvDataSegmentLength') ?? '');
    // LIO's MaxXmitDataSegmentLength: a local cap on what we send, never on the wire.
    const xmitCap = parseNumber(this.#local['MaxXmitDataSegmentLength'] ?? '');
    let maxXmit = peerRecv ?? DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH;
    if (xmitCap !== undefined && xmitCap >= 512) maxXmit = Math.min(maxXmit, xmitCap);
    return {
      headerDigest: this.effective('HeaderDigest') === 'CRC32C',
      dataDigest: this.effective('DataDigest') === 'CRC32C',
      maxRecvDataSegmentLength: declaredRecv ?? DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH,
      maxXmitDataSegmentLength: maxXmit,
    };
  }

  sessionParameters(defaults: { TargetPortalGroupTag?: number } = {}): SessionParameters {
    const num = (k: string): number => parseNumber(this.effective(k) ?? '') ?? 0;
    const bool = (k: string): boolean => this.effective(k) === 'Yes';
    const decl = (k: string): string | undefined => this.#peerDeclarations.get(k) ?? this.#localDeclarations.get(k);
    const maxBurst = num('MaxBurstLength');
    const tpgt = parseNumber(decl('TargetPortalGroupTag') ?? '') ?? defaults.TargetPortalGroupTag ?? 0;
    const params: SessionParameters = {
      InitialR2T: bool('InitialR2T'),
      ImmediateData: bool('ImmediateData'),
      MaxBurstLength: maxBurst,
      // RFC 7143 §13.14: FirstBurstLength MUST NOT exceed MaxBurstLength.
      FirstBurstLength: Math.min(num('FirstBurstLength'), maxBurst),
      DefaultTime2Wait: num('DefaultTime2Wait'),
      DefaultTime2Retain: num('DefaultTime2Retain'),
      MaxOutstandingR2T: num('MaxOutstandingR2T'),
      DataPDUInOrder: bool('DataPDUInOrder'),
      DataSequenceInOrder: bool('DataSequenceInOrder'),
      ErrorRecoveryLevel: num('ErrorRecoveryLevel'),
      MaxConnections: num('MaxConnections'),
      SessionType: this.sessionType,
      InitiatorName: decl('InitiatorName') ?? '',
      TargetPortalGroupTag: tpgt,
    };
    const initiatorAlias = decl('InitiatorAlias');
    const targetName = decl('TargetName');
    const targetAlias = decl('TargetAlias');
    if (initiatorAlias !== undefined) params.InitiatorAlias = initiatorAlias;
    if (targetName !== undefined) params.TargetName = targetName;
    if (targetAlias !== undefined) params.TargetAlias = targetAlias;
    return params;
  }

  // ---- internals ---------------------------------------------------------

  #receive(pairs: ReadonlyArray<TextPair>, stage: NegotiationStage): ReceiveResult {
    const answers: Array<TextPair | undefined> = [];
    const authPairs: TextPair[] = [];
    // FirstBurstLength depends on InitialR2T, ImmediateData and MaxBurstLength
    // results, possibly negotiated in the same batch: answer it last.
    const deferred: Array<{ slot: number; def: KeyDefinition; value: string }> = [];
    const batch = new Map<string, string>();

    for (const [name, value] of pairs) {
      const def = KEYS.get(name);
      if (!def) {
        // RFC 7143 §6.2: unknown keys (and X-/X# extensions we do not implement).
        answers.push([name, 'NotUnderstood']);
        continue;
      }
      if (this.#seen.has(name)) {
        // Re-declaring the same value changes nothing: tolerated because
        // libiscsi re-sends InitiatorName/TargetName/SessionType in its
        // operational PDU when it offered CHAP and the target chose None.
        if (def.kind === 'declarative' && this.#peerDeclarations.get(name) === value) continue;
        return fail('duplicate-key', name, `key ${name} sent twice in one negotiation`);
      }
      this.#seen.add(name);
      if (!senderAllows(def, this.role)) {
        return fail('wrong-sender', name, `key ${name} may not be sent by the ${this.role === 'target' ? 'initiator' : 'target'}`);
      }
      if (!stageAllows(def, stage)) {
        return fail('wrong-stage', name, `key ${name} is not allowed in the ${stage} stage`);
      }
      const offered = this.#outstanding.get(name);
      if (offered !== undefined) {
        this.#outstanding.delete(name);
        const err = checkAnswer(def, offered, value);
        if (err) return { ok: false, error: err };
        if (!RESPONSE_CONSTANTS.has(value)) this.#results.set(name, value);
        continue;
      }
      if (RESPONSE_CONSTANTS.has(value) && def.kind !== 'auth') {
        // Reject/Irrelevant/NotUnderstood are answers only; we offered nothing.
        return fail('invalid-response', name, `unsolicited answer ${name}=${value}`);
      }
      if (def.kind === 'auth') {
        authPairs.push([name, value]);
        continue;
      }
      if (def.name === 'FirstBurstLength' && def.kind === 'min') {
        deferred.push({ slot: answers.length, def, value });
        answers.push(undefined);
        continue;
      }
      const answer = this.#answer(def, value, batch);
      if (typeof answer !== 'string' && answer !== undefined) return { ok: false, error: answer };
      if (answer !== undefined) answers.push([name, answer]);
    }
    for (const d of deferred) {
      const answer = this.#answer(d.def, d.value, batch);
      if (typeof answer !== 'string' && answer !== undefined) return { ok: false, error: answer };
      if (answer !== undefined) answers[d.slot] = [d.def.name, answer];
    }
    return { ok: true, answers: answers.filter((a): a is TextPair => a !== undefined), authPairs };
  }

  /** Acceptor side for one key: returns the answer value, undefined for no answer, or an error. */
  #answer(def: KeyDefinition, value: string, batch: Map<string, string>): string | undefined | NegotiationError {
    switch (def.kind) {
      case 'declarative': {
        if (def.values && !def.values.includes(value)) return 'Reject';
        this.#peerDeclarations.set(def.name, value);
        return undefined;
      }
      case 'numeric-declarative': {
        const n = parseNumber(value);
        if (n === undefined || !inRange(n, def.range)) return 'Reject';
        this.#peerDeclarations.set(def.name, String(n));
        return undefined;
      }
      case 'obsolete':
        return def.obsoleteAnswer ?? 'Reject';
      case 'auth':
        return undefined;
      default:
        break;
    }
    if (def.irrelevantInDiscovery && this.sessionType === 'Discovery') return 'Irrelevant';
    switch (def.kind) {
      case 'list': {
        const ours = localList(def, this.#local);
        const choice = parseList(value).find((v) => ours.includes(v));
        if (choice === undefined) {
          // RFC 7143 §6.2.1: nothing acceptable in the list → Reject; the key
          // then keeps its default, which our configuration may forbid.
          if (def.phase !== 'security' && def.defaultValue !== undefined && !ours.includes(def.defaultValue)) {
            return { code: 'unacceptable', key: def.name, message: `${def.name}: none of ${value} is acceptable` };
          }
          return 'Reject';
        }
        this.#record(def.name, choice, batch);
        return choice;
      }
      case 'min':
      case 'max': {
        const n = parseNumber(value);
        // RFC 7143 §6.2.2: an inadmissible offer may be answered Reject.
        if (n === undefined || !inRange(n, def.range)) return 'Reject';
        const ours = localNumber(def, this.#local);
        let result = def.kind === 'min' ? Math.min(n, ours) : Math.max(n, ours);
        if (def.name === 'FirstBurstLength') {
          if (this.#firstBurstIrrelevant(batch)) return 'Irrelevant';
          // RFC 7143 §13.14: FirstBurstLength MUST NOT exceed MaxBurstLength.
          const maxBurst = parseNumber(batch.get('MaxBurstLength') ?? this.effective('MaxBurstLength') ?? '');
          if (maxBurst !== undefined) result = Math.min(result, maxBurst);
        }
        this.#record(def.name, String(result), batch);
        return String(result);
      }
      case 'and':
      case 'or': {
        const b = parseBoolean(value);
        if (b === undefined) return 'Reject';
        const ours = localBoolean(def, this.#local);
        const result = def.kind === 'and' ? b && ours : b || ours;
        this.#record(def.name, formatBoolean(result), batch);
        return formatBoolean(result);
      }
      default:
        return 'Reject';
    }
  }

  #record(name: string, value: string, batch: Map<string, string>): void {
    this.#results.set(name, value);
    batch.set(name, value);
  }

  /** RFC 7143 §13.14: FirstBurstLength is irrelevant when InitialR2T=Yes and ImmediateData=No. */
  #firstBurstIrrelevant(batch: Map<string, string>): boolean {
    const initialR2T = batch.get('InitialR2T') ?? this.effective('InitialR2T');
    const immediateData = batch.get('ImmediateData') ?? this.effective('ImmediateData');
    return initialR2T === 'Yes' && immediateData === 'No';
  }
}

function fail(code: NegotiationErrorCode, key: string, message: string): ReceiveResult {
  return { ok: false, error: { code, key, message } };
}
