// One iSCSI connection, target side: login phase, then full feature phase
// (RFC 7143 §6, §4.2, §11). Sans-IO: frames come in through receive(), go out
// through Wire.send(); the TCP adapter lives in src/runtime.
//
// ERL 0 only (RFC 7143 §7.1.5): any sequence error drops the connection and the
// session with it. MaxConnections is negotiated to 1.

import type { Frame } from '../pdu/types.js';
import { Opcode, RejectReason, RESERVED_TAG, type InitiatorPdu, type LoginResponse } from '../pdu/types.js';
import type { ReceivedFrame } from '../pdu/framer.js';
import { decodeInitiatorPdu } from '../pdu/decode.js';
import { encodeLoginResponse } from '../pdu/login.js';
import { encodeReject } from '../pdu/reject.js';
import { encodeNopIn } from '../pdu/nop.js';
import { encodeLogoutResponse } from '../pdu/logout.js';
import { encodeTextResponse } from '../pdu/text.js';
import { encodeAsyncMessage } from '../pdu/async-message.js';
import { LoginMachine, type LoginEnvironment, type LoginOutcome } from './login/index.js';
import { TextExchange, type SendTargetsEntry } from './text/index.js';
import { CommandWindow } from './command-window.js';
import { snAdd } from './serial.js';
import { ScsiFlow } from './scsi-flow.js';
import { KeepAlive } from './keep-alive.js';
import type { FileExtent, ScsiNexusHandle } from '../scsi/api.js';
import type { Logger } from '../runtime/logger.js';

/** Where frames go. The adapter applies digests and limits from the next frame on. */
export interface Wire {
  /** `onSent`: the frame's buffers have been handed to the OS (they may be reused). */
  send(frame: Frame, onSent?: () => void): void;
  configure(settings: { maxRecvDataSegmentLength: number; headerDigest: boolean; dataDigest: boolean }): void;
  /** Flush what was sent, then close. */
  close(): void;
  /** Received data buffers nobody references any more (the wire may reuse pooled ones). */
  release?(buffers: readonly Buffer[]): void;
  /** A buffer for outgoing data the wire may recycle once sent; undefined: allocate your own. */
  allocate?(length: number): Buffer | undefined;
  /**
   * Whether sendFile takes a data segment of `length` bytes (e.g. not with
   * DataDigest, whose CRC needs the bytes). `alone`: no other command of the
   * connection is in flight, so nothing would share this response's writev.
   */
  canSendFile?(length: number, alone: boolean): boolean;
  /** Send `frame` (a PDU with an empty data segment) with the extent's bytes as its data segment. */
  sendFile?(frame: Frame, extent: FileExtent): void;
}

/** What the runtime provides for a logged-in session. */
export interface SessionBinding {
  readonly tsih: number;
  /** Present for Normal sessions. */
  readonly nexus?: ScsiNexusHandle;
  sendTargets(query: string): SendTargetsEntry[];
  /** The session ended (logout, connection loss, reinstatement). */
  release(): void;
}

export interface ConnectionHooks {
  readonly login: Omit<LoginEnvironment, 'admit'>;
  /** Admit a completed login: reinstatement, TSIH allocation (RFC 7143 §6.3.5). */
  admit(outcome: LoginOutcome, connection: IscsiConnection): { ok: true; tsih: number } | { ok: false; statusClass: number; statusDetail: number };
  /** Bind the admitted session to live objects (SCSI nexus, discovery view). */
  bind(outcome: LoginOutcome, tsih: number, connection: IscsiConnection): SessionBinding;
  /** TARGET COLD RESET: every session of the target must go (RFC 7143 §11.5.1). */
  coldReset?(connection: IscsiConnection): void;
}

export interface ConnectionOptions {
  queueDepth: number;
  /** Seconds between target-initiated NOP-In pings on an idle connection; 0 disables. */
  nopInInterval: number;
  /** Seconds to wait for the ping's NOP-Out before dropping the connection. */
  nopInTimeout: number;
  /** Seconds a connection may stay in the login phase. */
  loginTimeout: number;
  /** Seconds a solicited write may wait for Data-Out (LIO: dataout_timeout 3 s × 5 retries ≈ 15 s). */
  dataOutTimeout: number;
  /** Data-In segments never exceed this even if the initiator allows more. */
  maxSendSegment?: number;
}

export interface ConnectionStats {
  rxPdus: number;
  txPdus: number;
  rxDataBytes: number;
  txDataBytes: number;
  /** Data-In bytes (counted in txDataBytes too) handed to the wire as file extents, sent by sendfile unless the socket was backed up. */
  txFileDataBytes: number;
  commands: number;
  rejects: number;
}

const LOGIN_MAX_RECV = 8192;


/** A PDU waiting for its CmdSN turn; `run` is called as a method. */
export interface Queued {
  readonly pdu: InitiatorPdu;
  run(): void;
}

export class IscsiConnection {
  state: 'login' | 'ffp' | 'logout' | 'closed' = 'login';
  statSn = 0;
  outcome: LoginOutcome | undefined;
  binding: SessionBinding | undefined;
  window: CommandWindow<Queued> | undefined;
  readonly stats: ConnectionStats = { rxPdus: 0, txPdus: 0, rxDataBytes: 0, txDataBytes: 0, txFileDataBytes: 0, commands: 0, rejects: 0 };
  readonly #login: LoginMachine;
  #text: TextExchange | undefined;
  #scsi: ScsiFlow | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #keepAlive: KeepAlive;
  #nextTtt = 1;
  #closeReason = '';
  #maxXmit = 8192;

  constructor(
    readonly id: string,
    readonly wire: Wire,
    readonly hooks: ConnectionHooks,
    readonly options: ConnectionOptions,
    readonly log: Logger,
  ) {
    const env: LoginEnvironment = {
      ...hooks.login,
      findTarget: (name) => hooks.login.findTarget(name),
      randomBytes: (n) => hooks.login.randomBytes(n),
      admit: (outcome) => hooks.admit(outcome, this),
    };
    this.#login = new LoginMachine(env, { queueDepth: options.queueDepth });
    this.#keepAlive = new KeepAlive(options, Date.now());
    wire.configure({ maxRecvDataSegmentLength: LOGIN_MAX_RECV, headerDigest: false, dataDigest: false });
    this.#timer = setInterval(() => this.#tick(), 1000);
    this.#timer.unref();
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** A target transfer tag that is never RESERVED_TAG. */
  allocateTtt(): number {
    const t = this.#nextTtt;
    this.#nextTtt = this.#nextTtt >= 0x7fffffff ? 1 : this.#nextTtt + 1;
    return t;
  }

  /** Next StatSN for a PDU that carries status (advances StatSN). */
  takeStatSn(): number {
    const s = this.statSn;
    this.statSn = snAdd(this.statSn, 1);
    return s;
  }

  get expCmdSn(): number {
    return this.window ? this.window.expCmdSn : 0;
  }

  get maxCmdSn(): number {
    return this.window ? this.window.maxCmdSn : 0;
  }

  send(frame: Frame, onSent?: () => void): void {
    if (this.state === 'closed') return;
    this.stats.txPdus++;
    this.stats.txDataBytes += frame.data.length;
    this.wire.send(frame, onSent);
  }

  /** `frame` with a file extent as its data segment; only after Task.acceptsFileExtent said yes. */
  sendFile(frame: Frame, extent: FileExtent): void {
    if (this.state === 'closed') return;
    this.stats.txPdus++;
    this.stats.txDataBytes += extent.length;
    this.stats.txFileDataBytes += extent.length;
    this.wire.sendFile?.(frame, extent);
  }

  /** Framer delivered a frame. */
  receive(frame: ReceivedFrame): void {
    if (this.state === 'closed') return;
    this.#keepAlive.received(Date.now());
    this.stats.rxPdus++;
    this.stats.rxDataBytes += frame.data.length;
    if (frame.dataDigestError) {
      // RFC 7143 §7.8: a PDU with a data digest error is discarded and rejected.
      this.reject(frame, RejectReason.DataDigestError);
      if (frame.bhs[0] !== undefined && (frame.bhs[0] & 0x3f) === Opcode.DataOut) {
        // At ERL 0 the lost Data-Out cannot be recovered: the task would hang.
        this.fail('data digest error on Data-Out');
      }
      return;
    }
    const decoded = decodeInitiatorPdu(frame);
    if (!decoded.ok) {
      if (this.state === 'login') return this.fail(`malformed PDU during login: ${decoded.message}`);
      this.log.warn({ conn: this.id, reason: decoded.message }, 'rejecting malformed PDU');
      this.reject(frame, decoded.reason);
      return;
    }
    const pdu = decoded.pdu;
    if (this.state === 'login') return this.#onLoginPhase(pdu);
    if (this.state !== 'ffp' && this.state !== 'logout') return;
    switch (pdu.opcode) {
      case Opcode.ScsiCommand:
        return this.#scsi!.onCommand(pdu, frame);
      case Opcode.DataOut:
        return this.#scsi!.onDataOut(pdu);
      case Opcode.TaskManagementRequest:
        return void this.ordered(pdu, () => this.#scsi!.onTaskManagement(pdu));
      case Opcode.NopOut:
        return this.#onNopOut(pdu, frame);
      case Opcode.TextRequest:
        return void this.ordered(pdu, () => this.#onText(pdu, frame));
      case Opcode.LogoutRequest:
        return void this.ordered(pdu, () => void this.#onLogout(pdu));
      case Opcode.Snack:
        // RFC 7143 §11.16: SNACK support is required only at ERL > 0.
        return this.reject(frame, RejectReason.ProtocolError);
      case Opcode.LoginRequest:
        // A login request in full feature phase is a protocol error (RFC 7143 §6.3).
        return this.reject(frame, RejectReason.ProtocolError);
    }
  }

  /**
   * Run `run` in CmdSN order (non-immediate) or at once (immediate).
   * Out-of-window non-immediate PDUs are dropped silently (RFC 7143 §4.2.2.1).
   */
  ordered(pdu: { immediate: boolean; cmdSn: number }, run: () => void, onQueued?: () => void): boolean {
    const window = this.window!;
    if (pdu.immediate) {
      run();
      return true;
    }
    const verdict = window.offer(pdu.cmdSn, { pdu: pdu as InitiatorPdu, run });
    if (verdict === 'drop') {
      this.log.debug({ conn: this.id, cmdSn: pdu.cmdSn, exp: window.expCmdSn, max: window.maxCmdSn }, 'CmdSN outside window, dropped');
      return false;
    }
    if (verdict === 'queued') {
      onQueued?.();
      return true;
    }
    run();
    if (window.queuedCount > 0) for (const q of window.drain()) q.run();
    return true;
  }

  /** ordered() for an item that already is a Queued (a SCSI task): no wrapper per command. */
  orderedItem(item: Queued): boolean {
    const pdu = item.pdu as { immediate: boolean; cmdSn: number };
    if (pdu.immediate) {
      item.run();
      return true;
    }
    const window = this.window!;
    const verdict = window.offer(pdu.cmdSn, item);
    if (verdict === 'drop') {
      this.log.debug({ conn: this.id, cmdSn: pdu.cmdSn, exp: window.expCmdSn, max: window.maxCmdSn }, 'CmdSN outside window, dropped');
      return false;
    }
    if (verdict === 'deliver') {
      item.run();
      if (window.queuedCount > 0) for (const q of window.drain()) q.run();
    }
    return true;
  }


  /** A non-immediate command's final response went out: open a CmdSN slot. */
  completeOrdered(immediate: boolean): void {
    if (!immediate) this.window?.complete();
  }

  reject(frame: Frame, reason: RejectReason): void {
    this.stats.rejects++;
    this.send(
      encodeReject({
        opcode: Opcode.Reject,
        reason,
        statSn: this.takeStatSn(),
        expCmdSn: this.expCmdSn,
        maxCmdSn: this.maxCmdSn,
        dataSn: 0,
        data: Buffer.from(frame.bhs.subarray(0, 48)),
      }),
    );
  }

  /** Drop the connection (ERL 0 recovery is session reinstatement by the initiator). */
  fail(reason: string): void {
    if (this.state === 'closed') return;
    this.log.warn({ conn: this.id, reason }, 'dropping connection');
    this.#closeReason = reason;
    this.close();
  }

  /** The transport went away or we are closing: release everything. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#scsi?.shutdown();
    this.window?.clear();
    const b = this.binding;
    this.binding = undefined;
    b?.release();
    this.wire.close();
  }

  /**
   * Target shutdown: let tasks in flight finish (writes still waiting for
   * Data-Out are aborted), at most `graceMs`, then close.
   */
  async shutdown(graceMs: number): Promise<void> {
    if (this.state === 'closed') return;
    if (this.#scsi && this.#scsi.activeTasks > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.#scsi.drain(),
        new Promise<void>((r) => {
          timer = setTimeout(r, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    this.#closeReason ||= 'target shutdown';
    this.close();
  }

  get closeReason(): string {
    return this.#closeReason;
  }

  /** Ask the initiator to log out (RFC 7143 §11.9.1 AsyncEvent 1), e.g. at shutdown. */
  requestLogout(time2Wait: number): void {
    if (this.state !== 'ffp') return;
    const data = Buffer.alloc(0);
    this.send(
      encodeAsyncMessage({
        opcode: Opcode.AsyncMessage,
        lun: Buffer.alloc(8),
        statSn: this.takeStatSn(),
        expCmdSn: this.expCmdSn,
        maxCmdSn: this.maxCmdSn,
        asyncEvent: 1,
        asyncVCode: 0,
        parameter1: 0,
        parameter2: 0,
        parameter3: Math.min(time2Wait, 3600),
        data,
      }),
    );
  }

  // ---- login phase -------------------------------------------------------

  #onLoginPhase(pdu: InitiatorPdu): void {
    if (pdu.opcode !== Opcode.LoginRequest) {
      // RFC 7143 §6.3: only Login Requests before full feature phase.
      return this.fail(`opcode 0x${pdu.opcode.toString(16)} during login`);
    }
    let step;
    try {
      step = this.#login.handle(pdu);
    } catch (err) {
      this.log.error({ conn: this.id, err: String(err) }, 'login machine failed');
      return this.fail('internal login error');
    }
    this.#sendLogin(step.response);
    if (step.kind === 'fail') {
      this.state = 'logout';
      this.#closeReason = `login failed ${step.response.statusClass}/${step.response.statusDetail}`;
      this.log.info({ conn: this.id, status: `${step.response.statusClass}/${step.response.statusDetail}` }, 'login rejected');
      this.close();
      return;
    }
    if (step.kind === 'complete') this.#enterFullFeature(step.outcome, step.response.tsih);
  }

  #sendLogin(response: LoginResponse): void {
    this.send(encodeLoginResponse(response));
  }

  #enterFullFeature(outcome: LoginOutcome, tsih: number): void {
    this.outcome = outcome;
    this.statSn = outcome.statSn >>> 0;
    this.window = new CommandWindow<Queued>(outcome.expCmdSn, this.options.queueDepth);
    // Digests and the initiator's limits apply from the first PDU after the final login response.
    this.wire.configure({
      maxRecvDataSegmentLength: outcome.connection.maxRecvDataSegmentLength,
      headerDigest: outcome.connection.headerDigest,
      dataDigest: outcome.connection.dataDigest,
    });
    try {
      this.binding = this.hooks.bind(outcome, tsih, this);
    } catch (err) {
      this.log.error({ conn: this.id, err: String(err) }, 'binding session failed');
      return this.fail('session binding failed');
    }
    this.state = 'ffp';
    this.#maxXmit = outcome.connection.maxXmitDataSegmentLength;
    const maxXmit = () => Math.min(this.#maxXmit, this.options.maxSendSegment ?? Infinity);
    this.#text = new TextExchange({
      maxXmitDataSegmentLength: maxXmit,
      sessionType: outcome.sessionType,
      sendTargets: (q) => this.binding?.sendTargets(q) ?? [],
      negotiableParameters: {
        local: outcome.target?.parameters ?? {},
        // RFC 7143 §13.12: MaxRecvDataSegmentLength may be re-declared in full feature phase.
        onMaxXmitDataSegmentLength: (bytes) => {
          this.#maxXmit = bytes;
        },
      },
    });
    this.#scsi = new ScsiFlow(this, outcome, maxXmit);
    this.log.info(
      {
        conn: this.id,
        initiator: outcome.initiatorName,
        target: outcome.target?.name,
        type: outcome.sessionType,
        tsih,
        hd: outcome.connection.headerDigest,
        dd: outcome.connection.dataDigest,
      },
      'login complete',
    );
  }

  get nexus(): ScsiNexusHandle | undefined {
    return this.binding?.nexus;
  }

  // ---- NOP ---------------------------------------------------------------

  #onNopOut(pdu: Extract<InitiatorPdu, { opcode: Opcode.NopOut }>, frame: ReceivedFrame): void {
    if (pdu.itt === RESERVED_TAG) {
      // A reply to our ping (RFC 7143 §11.18): must be immediate, carries our TTT.
      // ITT and TTT both reserved: not allowed (RFC 7143 §11.18.2); a stale TTT is ignored.
      if (!this.#keepAlive.answered(pdu.ttt) && pdu.ttt === RESERVED_TAG) this.reject(frame, RejectReason.ProtocolError);
      return;
    }
    const answer = () => {
      this.send(
        encodeNopIn({
          opcode: Opcode.NopIn,
          lun: pdu.lun,
          itt: pdu.itt,
          ttt: RESERVED_TAG,
          statSn: this.takeStatSn(),
          expCmdSn: this.expCmdSn,
          maxCmdSn: this.maxCmdSn,
          data: pdu.data,
        }),
      );
      this.completeOrdered(pdu.immediate);
    };
    if (!pdu.immediate) {
      this.ordered(pdu, answer);
    } else {
      answer();
    }
  }

  #tick(): void {
    const now = Date.now();
    if (this.state === 'login') {
      if (this.#keepAlive.loginExpired(now)) this.fail('login timeout');
      return;
    }
    if (this.state !== 'ffp') return;
    const stalled = this.#scsi?.stalledTransfer(now, this.options.dataOutTimeout * 1000);
    if (stalled !== undefined) {
      // ERL 0 cannot recover a lost Data-Out sequence (RFC 7143 §7.1.4): drop, the initiator reinstates.
      return this.fail(`no Data-Out for task 0x${stalled.toString(16)} within ${this.options.dataOutTimeout} s`);
    }
    const verdict = this.#keepAlive.check(now);
    if (verdict.kind === 'fail') return this.fail(verdict.reason);
    if (verdict.kind === 'ping') {
      const ttt = this.allocateTtt();
      this.#keepAlive.pinged(ttt, now);
      // RFC 7143 §11.19.1: a target-initiated NOP-In carries the current StatSN and does not advance it.
      this.send(
        encodeNopIn({
          opcode: Opcode.NopIn,
          lun: Buffer.alloc(8),
          itt: RESERVED_TAG,
          ttt,
          statSn: this.statSn,
          expCmdSn: this.expCmdSn,
          maxCmdSn: this.maxCmdSn,
          data: Buffer.alloc(0),
        }),
      );
    }
  }

  // ---- Text --------------------------------------------------------------

  #onText(pdu: Extract<InitiatorPdu, { opcode: Opcode.TextRequest }>, frame: ReceivedFrame): void {
    const r = this.#text!.handle(pdu);
    if (r.kind === 'reject') {
      this.reject(frame, r.reason === 'protocol' ? RejectReason.ProtocolError : RejectReason.InvalidPduField);
      this.completeOrdered(pdu.immediate);
      return;
    }
    this.send(
      encodeTextResponse({
        opcode: Opcode.TextResponse,
        final: r.final,
        continue: r.continue,
        lun: pdu.lun,
        itt: pdu.itt,
        ttt: r.ttt,
        statSn: this.takeStatSn(),
        expCmdSn: this.expCmdSn,
        maxCmdSn: this.maxCmdSn,
        data: r.data,
      }),
    );
    this.completeOrdered(pdu.immediate);
  }

  // ---- Logout ------------------------------------------------------------

  async #onLogout(pdu: Extract<InitiatorPdu, { opcode: Opcode.LogoutRequest }>): Promise<void> {
    let response = 0;
    if (pdu.reason === 2) response = 2; // connection recovery not supported at ERL 0
    else if (pdu.reason === 1 && pdu.cid !== this.outcome?.cid) response = 1; // CID not found
    if (response === 0) {
      this.state = 'logout';
      // RFC 7143 §11.14: outstanding tasks end before the session does.
      await this.#scsi?.drain();
    }
    this.send(
      encodeLogoutResponse({
        opcode: Opcode.LogoutResponse,
        response,
        itt: pdu.itt,
        statSn: this.takeStatSn(),
        expCmdSn: this.expCmdSn,
        maxCmdSn: this.maxCmdSn,
        time2Wait: 0,
        time2Retain: 0,
      }),
    );
    this.completeOrdered(pdu.immediate);
    if (response === 0) {
      this.log.info({ conn: this.id, reason: pdu.reason }, 'logout');
      this.#closeReason = 'logout';
      this.close();
    }
  }
}
