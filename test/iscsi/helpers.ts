// Shared builders for the login / text tests.

import { Opcode, RESERVED_TAG, type LoginRequest, type LoginResponse, type TextRequest } from '../../src/pdu/types.js';
import { encodeTextParameters } from '../../src/pdu/text-keys.js';
import type { ChapCredentials, LoginEnvironment, LoginOutcome, LoginTarget } from '../../src/iscsi/login/index.js';

export const ISID = Buffer.from('00023d000001', 'hex');
export const INITIATOR = 'iqn.1994-05.com.redhat:client1';
export const TARGET = 'iqn.2003-01.org.linux-iscsi.host.x8664:sn.target1';

export function text(pairs: Record<string, string> | Array<[string, string]>): Buffer {
  return encodeTextParameters(Array.isArray(pairs) ? pairs : Object.entries(pairs));
}

/**
 * Splits response text into records. Not parseTextParameters: responses may
 * repeat keys (SendTargets: TargetName/TargetAddress, RFC 7143 §13.8).
 */
export function pairsOf(data: Buffer): Array<[string, string]> {
  if (data.length === 0) return [];
  if (data[data.length - 1] !== 0) throw new Error('response text not NUL-terminated');
  return data
    .toString('utf8', 0, data.length - 1)
    .split('\0')
    .map((record) => {
      const eq = record.indexOf('=');
      if (eq <= 0) throw new Error(`bad record ${JSON.stringify(record)}`);
      return [record.slice(0, eq), record.slice(eq + 1)] as [string, string];
    });
}

export function keysOf(data: Buffer): Record<string, string> {
  return Object.fromEntries(pairsOf(data));
}

export function loginRequest(fields: Partial<LoginRequest> & { text?: Record<string, string> | Array<[string, string]> } = {}): LoginRequest {
  const { text: t, ...rest } = fields;
  return {
    opcode: Opcode.LoginRequest,
    transit: true,
    continue: false,
    csg: 1,
    nsg: 3,
    versionMax: 0,
    versionMin: 0,
    isid: ISID,
    tsih: 0,
    itt: 0x1000,
    cid: 1,
    cmdSn: 100,
    expStatSn: 7000,
    data: t ? text(t) : Buffer.alloc(0),
    ...rest,
  };
}

export function textRequest(fields: Partial<TextRequest> & { text?: Record<string, string> | Array<[string, string]> } = {}): TextRequest {
  const { text: t, ...rest } = fields;
  return {
    opcode: Opcode.TextRequest,
    immediate: false,
    final: true,
    continue: false,
    lun: Buffer.alloc(8),
    itt: 0x55,
    ttt: RESERVED_TAG,
    cmdSn: 10,
    expStatSn: 20,
    data: t ? text(t) : Buffer.alloc(0),
    ...rest,
  };
}

/** Deterministic "random" bytes: 0x11, 0x12, ... so challenges are predictable. */
export function counterRandom(): (n: number) => Buffer {
  let next = 0x11;
  return (n) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = next++ & 0xff;
    return b;
  };
}

export interface TestTargetOptions {
  name?: string;
  tag?: number;
  alias?: string;
  authenticationRequired?: boolean;
  allowed?: (initiator: string) => boolean;
  credentials?: ChapCredentials;
  parameters?: Record<string, string>;
}

export function testTarget(o: TestTargetOptions = {}): LoginTarget {
  const t: LoginTarget = {
    name: o.name ?? TARGET,
    portalGroupTag: o.tag ?? 1,
    authenticationRequired: o.authenticationRequired ?? false,
    authorize(initiatorName: string) {
      if (o.allowed && !o.allowed(initiatorName)) return { allowed: false };
      return o.credentials ? { allowed: true, credentials: o.credentials } : { allowed: true };
    },
    parameters: o.parameters ?? {},
  };
  return o.alias !== undefined ? { ...t, alias: o.alias } : t;
}

export interface TestEnv extends LoginEnvironment {
  readonly admitted: LoginOutcome[];
}

export function testEnv(
  o: {
    targets?: LoginTarget[];
    portalGroupTag?: number;
    discoveryAuth?: { required: boolean; credentials?: ChapCredentials };
    discoveryParameters?: Record<string, string>;
    admit?: LoginEnvironment['admit'];
    randomBytes?: (n: number) => Buffer;
  } = {},
): TestEnv {
  const admitted: LoginOutcome[] = [];
  const targets = o.targets ?? [testTarget()];
  return {
    admitted,
    portalGroupTag: o.portalGroupTag ?? 1,
    findTarget: (name) => targets.find((t) => t.name === name),
    discoveryAuth: o.discoveryAuth ?? { required: false },
    discoveryParameters: o.discoveryParameters ?? {},
    randomBytes: o.randomBytes ?? counterRandom(),
    admit(outcome) {
      admitted.push(outcome);
      return o.admit ? o.admit(outcome) : { ok: true, tsih: 0x2a };
    },
  };
}

export function status(r: LoginResponse): string {
  return `${r.statusClass.toString(16).padStart(2, '0')}/${r.statusDetail.toString(16).padStart(2, '0')}`;
}
