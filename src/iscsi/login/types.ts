// Contracts between the login state machine and its caller (the connection).

import type { LoginResponse } from '../../pdu/types.js';
import type { ChapCredentials } from '../chap/credentials.js';
import type { ConnectionParameters, SessionParameters } from '../negotiation/parameters.js';

export type { ChapCredentials };

export interface LoginTarget {
  /** Target IQN. */
  readonly name: string;
  readonly alias?: string;
  /** The TPG reached through this portal. */
  readonly portalGroupTag: number;
  /** TPG attribute authentication=1. */
  readonly authenticationRequired: boolean;
  /**
   * ACL decision (explicit node ACL, or generate_node_acls=1 demo mode).
   * credentials: ACL-level chap_* for explicit ACLs, TPG-level chap_* in demo mode.
   */
  authorize(initiatorName: string): { allowed: false } | { allowed: true; credentials?: ChapCredentials };
  /** TPG 'parameters' (our offered/configured values). */
  readonly parameters: Readonly<Record<string, string>>;
}

export interface LoginEnvironment {
  readonly portalGroupTag: number;
  /** Targets that own the portal this connection arrived on (enabled TPGs only). */
  findTarget(name: string): LoginTarget | undefined;
  readonly discoveryAuth: { required: boolean; credentials?: ChapCredentials };
  /** Defaults for discovery sessions. */
  readonly discoveryParameters: Readonly<Record<string, string>>;
  randomBytes(n: number): Buffer;
  /**
   * Leading login about to enter FFP (or a discovery session opening): allocate/reinstate.
   * RFC 7143 §6.3.5: TSIH 0 + same InitiatorName+ISID as a live session → the caller
   * closes the old session (reinstatement) and returns the new TSIH. TSIH≠0 (adding a
   * connection / recovery) — we support MaxConnections=1, so the caller answers failure.
   */
  admit(outcome: LoginOutcome): { ok: true; tsih: number } | { ok: false; statusClass: number; statusDetail: number };
}

export interface LoginOutcome {
  sessionType: 'Normal' | 'Discovery';
  initiatorName: string;
  initiatorAlias?: string;
  /** Normal sessions. */
  target?: LoginTarget;
  isid: Buffer;
  /** From the request; 0 for a new session. */
  tsih: number;
  cid: number;
  session: SessionParameters;
  connection: ConnectionParameters;
  /** Sequence numbers to start full feature phase with. */
  expCmdSn: number;
  /** Next StatSN to use. */
  statSn: number;
  authenticated: boolean;
  chapUser?: string;
}

export type LoginStep =
  /** Send, stay in login. */
  | { kind: 'continue'; response: LoginResponse }
  /** Send, then FFP with outcome (switch digests AFTER sending this response). */
  | { kind: 'complete'; response: LoginResponse; outcome: LoginOutcome }
  /** Send, then close the connection. */
  | { kind: 'fail'; response: LoginResponse };

export interface LoginMachineOptions {
  /** Commands the initiator may have outstanding: MaxCmdSN = ExpCmdSN + queueDepth − 1. */
  queueDepth: number;
  /** Largest data segment of our Login Responses (RFC 7143 §13.12: 8192 during login). */
  maxLoginPduData?: number;
  /** Cap on a request's text accumulated over C-bit continuations (default 64 KiB). */
  maxLoginTextBytes?: number;
}
