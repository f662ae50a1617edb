// Target side of the iSCSI login phase (RFC 7143 §6.3, §11.12, §11.13): a
// sans-IO state machine fed one decoded Login Request at a time.

import { Opcode, Stage, type LoginRequest, type LoginResponse } from '../../pdu/types.js';
import { ChapAuthenticator } from '../chap/authenticator.js';
import type { ChapCredentials } from '../chap/credentials.js';
import { Negotiator, type NegotiationStage, type TextPair } from '../negotiation/negotiate.js';
import { inRange, parseList, parseNumber } from '../negotiation/values.js';
import { KEYS } from '../negotiation/keys.js';
import { DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH, type SessionType } from '../negotiation/parameters.js';
import { encodeTextParameters, parseTextParameters } from '../../pdu/text-keys.js';
import { LOGIN_STATUS, type LoginStatus } from './status.js';
import type { LoginEnvironment, LoginMachineOptions, LoginOutcome, LoginStep, LoginTarget } from './types.js';

const DEFAULT_MAX_LOGIN_PDU_DATA = 8192;
const DEFAULT_MAX_LOGIN_TEXT = 64 * 1024;

type MachineState = 'idle' | 'negotiating' | 'complete' | 'failed';

/** A response whose text does not fit one PDU: sent in C=1 pieces (RFC 7143 §6.4 / §11.13.2). */
interface PendingResponse {
  readonly data: Buffer;
  offset: number;
  readonly csg: number;
  readonly transit: boolean;
  readonly nsg: number;
}

export class LoginMachine {
  readonly #env: LoginEnvironment;
  readonly #queueDepth: number;
  readonly #maxPduData: number;
  readonly #maxText: number;

  #state: MachineState = 'idle';
  /** The stage the next request must be in, once known. */
  #stage: number | undefined;
  #itt = 0;
  #isid: Buffer = Buffer.alloc(6);
  #tsih = 0;
  #cid = 0;
  #statSn = 0;

  /** Request text accumulated over C=1 PDUs. */
  #inbound: Buffer[] = [];
  #inboundBytes = 0;
  #inboundStage: number | undefined;
  #outbound: PendingResponse | undefined;

  #negotiator: Negotiator | undefined;
  #sessionType: SessionType = 'Normal';
  #initiatorName = '';
  #initiatorAlias: string | undefined;
  #target: LoginTarget | undefined;
  #authRequired = false;
  #credentials: ChapCredentials | undefined;
  #chap: ChapAuthenticator | undefined;
  #authenticated = false;
  #chapUser: string | undefined;
  #declaredRecvLength = false;
  #firstResponse = true;

  constructor(env: LoginEnvironment, options: LoginMachineOptions) {
    this.#env = env;
    this.#queueDepth = Math.max(1, Math.floor(options.queueDepth));
    this.#maxPduData = Math.max(512, options.maxLoginPduData ?? DEFAULT_MAX_LOGIN_PDU_DATA);
    this.#maxText = options.maxLoginTextBytes ?? DEFAULT_MAX_LOGIN_TEXT;
  }

  handle(request: LoginRequest): LoginStep {
    try {
      return this.#handle(request);
    } catch {
      // Never throw across the layer boundary: a bug or a failing hook is a target error.
      return this.#fail(request, LOGIN_STATUS.targetError);
    }
  }

  #handle(req: LoginRequest): LoginStep {
    if (this.#state === 'complete' || this.#state === 'failed') return this.#fail(req, LOGIN_STATUS.initiatorError);
    if (this.#state === 'idle') {
      this.#state = 'negotiating';
      this.#itt = req.itt;
      this.#isid = Buffer.from(req.isid);
      this.#tsih = req.tsih;
      this.#cid = req.cid;
      // The initiator's ExpStatSN seeds our StatSN, as IET/SCST/UNH targets do;
      // RFC 7143 §11.13 leaves the starting value to the target.
      this.#statSn = req.expStatSn >>> 0;
      this.#stage = req.csg;
    } else if (req.itt !== this.#itt || req.cid !== this.#cid || req.tsih !== this.#tsih || !req.isid.equals(this.#isid)) {
      // RFC 7143 §6.3 / §11.12: ISID, TSIH, CID (and the ITT) are fixed for the whole login.
      return this.#fail(req, LOGIN_STATUS.initiatorError);
    }

    // RFC 7143 §11.12.4: we implement version 0x00 only.
    if (req.versionMin > 0 || req.versionMax < 0) return this.#fail(req, LOGIN_STATUS.unsupportedVersion);

    // Stage fields (RFC 7143 §11.12.3): CSG is 0 or 1, NSG > CSG and 1 or 3 when T=1.
    if (req.csg !== Stage.Security && req.csg !== Stage.Operational) return this.#fail(req, LOGIN_STATUS.initiatorError);
    if (req.csg !== this.#stage) return this.#fail(req, LOGIN_STATUS.initiatorError);
    if (req.transit) {
      if (req.continue) return this.#fail(req, LOGIN_STATUS.initiatorError); // T and C together (RFC 7143 §11.12.2)
      if (req.nsg <= req.csg || (req.nsg !== Stage.Operational && req.nsg !== Stage.FullFeature)) {
        return this.#fail(req, LOGIN_STATUS.initiatorError);
      }
    }

    // Our own long answer still going out: the initiator pulls each piece with an empty request.
    if (this.#outbound) {
      if (req.data.length > 0 || req.continue) return this.#fail(req, LOGIN_STATUS.initiatorError);
      return this.#sendPending(req, this.#outbound);
    }

    // The initiator's text split over C=1 PDUs: acknowledge each piece with an empty response.
    if (this.#inboundStage !== undefined && req.csg !== this.#inboundStage) return this.#fail(req, LOGIN_STATUS.initiatorError);
    this.#inboundBytes += req.data.length;
    if (this.#inboundBytes > this.#maxText) return this.#fail(req, LOGIN_STATUS.initiatorError);
    this.#inbound.push(req.data);
    if (req.continue) {
      this.#inboundStage = req.csg;
      return { kind: 'continue', response: this.#response(req, { transit: false, nsg: 0, data: Buffer.alloc(0) }) };
    }
    const text = this.#inbound.length === 1 ? this.#inbound[0]! : Buffer.concat(this.#inbound);
    this.#inbound = [];
    this.#inboundBytes = 0;
    this.#inboundStage = undefined;

    const parsed = parseTextParameters(text);
    if (!parsed.ok) return this.#fail(req, LOGIN_STATUS.initiatorError);
    let pairs: TextPair[] = parsed.pairs;

    if (!this.#negotiator) {
      const started = this.#start(pairs);
      if ('statusClass' in started) return this.#fail(req, started);
    }
    // RFC 7143 §13.4: TargetName plays no part in a discovery session: drop it.
    if (this.#sessionType === 'Discovery') pairs = pairs.filter(([k]) => k !== 'TargetName');
    return this.#negotiate(req, pairs);
  }

  /** First complete request: who is logging in, to what, and under which policy (RFC 7143 §6.3.1). */
  #start(pairs: TextPair[]): { ok: true } | LoginStatus {
    const get = (k: string): string | undefined => pairs.find(([key]) => key === k)?.[1];
    const initiatorName = get('InitiatorName');
    if (initiatorName === undefined || initiatorName === '') return LOGIN_STATUS.missingParameter;
    const sessionType = get('SessionType') ?? 'Normal';
    if (sessionType !== 'Normal' && sessionType !== 'Discovery') return LOGIN_STATUS.sessionTypeNotSupported;

    let parameters: Readonly<Record<string, string>>;
    if (sessionType === 'Normal') {
      const targetName = get('TargetName');
      if (targetName === undefined || targetName === '') return LOGIN_STATUS.missingParameter;
      const target = this.#env.findTarget(targetName);
      // A target that exists but not behind this portal group is "not found" here.
      if (!target || target.portalGroupTag !== this.#env.portalGroupTag) return LOGIN_STATUS.notFound;
      const decision = target.authorize(initiatorName);
      if (!decision.allowed) return LOGIN_STATUS.authorizationFailure;
      this.#target = target;
      this.#authRequired = target.authenticationRequired;
      this.#credentials = decision.credentials;
      parameters = target.parameters;
    } else {
      this.#authRequired = this.#env.discoveryAuth.required;
      this.#credentials = this.#env.discoveryAuth.credentials;
      parameters = this.#env.discoveryParameters;
    }
    this.#sessionType = sessionType;
    this.#initiatorName = initiatorName;
    this.#initiatorAlias = get('InitiatorAlias');
    this.#negotiator = new Negotiator({
      role: 'target',
      sessionType,
      local: {
        ...parameters,
        AuthMethod: this.#authMethods(parameters['AuthMethod']),
        // We implement ErrorRecoveryLevel 0 and one connection per session only.
        ErrorRecoveryLevel: '0',
        MaxConnections: '1',
      },
    });
    return { ok: true };
  }

  /** Our AuthMethod list: CHAP only when required; CHAP needs credentials unless required (then it fails later, 02/01). */
  #authMethods(configured: string | undefined): string {
    const methods = parseList(configured ?? 'CHAP,None').filter(
      (m) => (m === 'CHAP' && (this.#authRequired || this.#credentials !== undefined)) || (m === 'None' && !this.#authRequired),
    );
    if (this.#authRequired && !methods.includes('CHAP')) methods.unshift('CHAP');
    if (methods.length === 0) methods.push('None');
    return methods.join(',');
  }

  #negotiate(req: LoginRequest, pairs: TextPair[]): LoginStep {
    const negotiator = this.#negotiator!;
    const security = req.csg === Stage.Security;
    // Skipping the security stage is only possible when no authentication is required.
    if (!security && this.#authRequired && !this.#authenticated) return this.#fail(req, LOGIN_STATUS.authenticationFailure);

    const stage: NegotiationStage = security ? 'security' : 'operational';
    const result = negotiator.respond(pairs, stage);
    if (!result.ok) return this.#fail(req, LOGIN_STATUS.initiatorError);
    const answers: TextPair[] = [...result.answers];

    if (this.#firstResponse && this.#target) {
      // RFC 7143 §13.9: the TPGT goes back in the first Login Response of a Normal session.
      answers.push(negotiator.declare('TargetPortalGroupTag', String(this.#target.portalGroupTag)));
      const alias = this.#target.alias ?? this.#target.parameters['TargetAlias'];
      if (alias) answers.push(negotiator.declare('TargetAlias', alias));
    }

    let ready: boolean;
    if (security) {
      const method = negotiator.result('AuthMethod');
      if (result.authPairs.length > 0 && method !== 'CHAP') return this.#fail(req, LOGIN_STATUS.initiatorError);
      if (method === 'CHAP') {
        this.#chap ??= new ChapAuthenticator({ credentials: this.#credentials, randomBytes: (n) => this.#env.randomBytes(n) });
        const step = this.#chap.handle(result.authPairs);
        if (step.kind === 'failure') return this.#fail(req, LOGIN_STATUS.authenticationFailure);
        answers.push(...step.pairs);
        if (step.kind === 'success') {
          this.#authenticated = true;
          this.#chapUser = step.user;
        }
      }
      const authDone = method === 'CHAP' ? this.#chap?.state === 'done' : !this.#authRequired;
      // The initiator leaving the security stage without the required authentication.
      if (req.transit && this.#authRequired && method !== 'CHAP') return this.#fail(req, LOGIN_STATUS.authenticationFailure);
      // RFC 7143 §11.13.1: T=1 only when the initiator asked and nothing is pending;
      // an unfinished CHAP exchange keeps us in the stage.
      ready = req.transit && authDone;
    } else {
      if (!this.#declaredRecvLength) {
        this.#declaredRecvLength = true;
        answers.push(negotiator.declare('MaxRecvDataSegmentLength', String(this.#ourRecvLength())));
      }
      answers.push(...negotiator.proposals('operational'));
      ready = req.transit;
    }
    ready = ready && negotiator.outstanding.length === 0;
    this.#firstResponse = false;

    const pending: PendingResponse = {
      data: encodeTextParameters(answers),
      offset: 0,
      csg: req.csg,
      transit: ready,
      nsg: ready ? req.nsg : 0,
    };
    return this.#sendPending(req, pending);
  }

  /** Send (the next piece of) a response; the stage change and completion happen on its last piece. */
  #sendPending(req: LoginRequest, pending: PendingResponse): LoginStep {
    const remaining = pending.data.length - pending.offset;
    if (remaining > this.#maxPduData) {
      const piece = pending.data.subarray(pending.offset, pending.offset + this.#maxPduData);
      pending.offset += this.#maxPduData;
      this.#outbound = pending;
      return { kind: 'continue', response: this.#response(req, { transit: false, continue: true, nsg: 0, data: piece }) };
    }
    this.#outbound = undefined;
    const data = pending.data.subarray(pending.offset);
    if (!pending.transit) return { kind: 'continue', response: this.#response(req, { transit: false, nsg: 0, data }) };
    if (pending.nsg !== Stage.FullFeature) {
      this.#stage = pending.nsg;
      return { kind: 'continue', response: this.#response(req, { transit: true, nsg: pending.nsg, data }) };
    }
    return this.#complete(req, data);
  }

  /** Final Login Response: admit the session and hand over the negotiated state. */
  #complete(req: LoginRequest, data: Buffer): LoginStep {
    const negotiator = this.#negotiator!;
    if (this.#authRequired && !this.#authenticated) return this.#fail(req, LOGIN_STATUS.authenticationFailure);
    if (negotiator.violations().length > 0) return this.#fail(req, LOGIN_STATUS.initiatorError);
    const outcome: LoginOutcome = {
      sessionType: this.#sessionType,
      initiatorName: this.#initiatorName,
      isid: Buffer.from(this.#isid),
      tsih: this.#tsih,
      cid: this.#cid,
      session: negotiator.sessionParameters({ TargetPortalGroupTag: this.#target?.portalGroupTag ?? this.#env.portalGroupTag }),
      connection: negotiator.connectionParameters(),
      expCmdSn: req.cmdSn >>> 0,
      // This response consumes #statSn; full feature phase continues after it.
      statSn: (this.#statSn + 1) >>> 0,
      authenticated: this.#authenticated,
    };
    if (this.#initiatorAlias !== undefined) outcome.initiatorAlias = this.#initiatorAlias;
    if (this.#target) outcome.target = this.#target;
    if (this.#chapUser !== undefined) outcome.chapUser = this.#chapUser;

    const admitted = this.#env.admit(outcome);
    if (!admitted.ok) return this.#fail(req, { statusClass: admitted.statusClass, statusDetail: admitted.statusDetail });
    this.#state = 'complete';
    const response = this.#response(req, { transit: true, nsg: Stage.FullFeature, data, tsih: admitted.tsih });
    return { kind: 'complete', response, outcome };
  }

  #ourRecvLength(): number {
    const range = KEYS.get('MaxRecvDataSegmentLength')!.range;
    const configured = parseNumber(this.#negotiatorLocal('MaxRecvDataSegmentLength') ?? '');
    return configured !== undefined && inRange(configured, range) ? configured : DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH;
  }

  #negotiatorLocal(name: string): string | undefined {
    if (this.#target) return this.#target.parameters[name];
    return this.#env.discoveryParameters[name];
  }

  #fail(req: LoginRequest, status: LoginStatus): LoginStep {
    this.#state = 'failed';
    this.#outbound = undefined;
    // RFC 7143 §11.13: a failed login carries no text; the connection closes after it.
    const response = this.#response(req, {
      transit: false,
      nsg: 0,
      data: Buffer.alloc(0),
      statusClass: status.statusClass,
      statusDetail: status.statusDetail,
    });
    return { kind: 'fail', response };
  }

  #response(
    req: LoginRequest,
    f: { transit: boolean; continue?: boolean; nsg: number; data: Buffer; tsih?: number; statusClass?: number; statusDetail?: number },
  ): LoginResponse {
    const statSn = this.#statSn;
    this.#statSn = (this.#statSn + 1) >>> 0;
    const expCmdSn = req.cmdSn >>> 0;
    return {
      opcode: Opcode.LoginResponse,
      transit: f.transit,
      continue: f.continue ?? false,
      csg: req.csg === Stage.Security || req.csg === Stage.Operational ? req.csg : 0,
      nsg: f.transit ? f.nsg : 0,
      versionMax: 0,
      versionActive: 0,
      isid: Buffer.from(req.isid),
      tsih: f.tsih ?? req.tsih,
      itt: req.itt,
      statSn,
      expCmdSn,
      maxCmdSn: (expCmdSn + this.#queueDepth - 1) >>> 0,
      statusClass: f.statusClass ?? 0,
      statusDetail: f.statusDetail ?? 0,
      data: f.data,
    };
  }
}
