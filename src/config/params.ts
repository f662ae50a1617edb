// TPG `parameters`: the iSCSI login keys LIO keeps under tpgt_N/param/, as
// rtslib dumps them (every value a string). Syntax and ranges follow RFC 7143
// §13; defaults are LIO's (drivers/target/iscsi/iscsi_target_parameters.h) so
// a config that omits a key behaves as it did on the LIO host.

import { type Checker, fail, isObject, join, typeName } from './check.js';

export type ParamSpec =
  | { kind: 'list'; values: readonly string[]; default: string }
  | { kind: 'number'; min: number; max: number; default: string; supportedMax?: number }
  | { kind: 'boolean'; default: 'Yes' | 'No'; supported?: 'Yes' | 'No' }
  | { kind: 'text'; maxBytes: number; default?: string }
  | { kind: 'markint'; default: string };

// RFC 7143 §13: 512..2^24-1 for the data-segment and burst lengths.
const LEN = { min: 512, max: 16777215 } as const;

export const TPG_PARAMETERS: Readonly<Record<string, ParamSpec>> = Object.freeze({
  // §13.1 / §12.1: tsgt implements CHAP and None only.
  AuthMethod: { kind: 'list', values: ['CHAP', 'None'], default: 'CHAP,None' },
  HeaderDigest: { kind: 'list', values: ['CRC32C', 'None'], default: 'CRC32C,None' },
  DataDigest: { kind: 'list', values: ['CRC32C', 'None'], default: 'CRC32C,None' },
  MaxConnections: { kind: 'number', min: 1, max: 65535, default: '1' },
  // LIO offers "LIO Target"; tsgt offers no alias unless configured.
  TargetAlias: { kind: 'text', maxBytes: 255 },
  InitialR2T: { kind: 'boolean', default: 'Yes' },
  ImmediateData: { kind: 'boolean', default: 'Yes' },
  MaxRecvDataSegmentLength: { kind: 'number', ...LEN, default: '8192' },
  MaxXmitDataSegmentLength: { kind: 'number', ...LEN, default: '262144' },
  MaxBurstLength: { kind: 'number', ...LEN, default: '262144' },
  FirstBurstLength: { kind: 'number', ...LEN, default: '65536' },
  DefaultTime2Wait: { kind: 'number', min: 0, max: 3600, default: '2' },
  DefaultTime2Retain: { kind: 'number', min: 0, max: 3600, default: '20' },
  MaxOutstandingR2T: { kind: 'number', min: 1, max: 65535, default: '1' },
  DataPDUInOrder: { kind: 'boolean', default: 'Yes' },
  DataSequenceInOrder: { kind: 'boolean', default: 'Yes' },
  // §13.20: 0..2; tsgt implements ERL 0 only.
  ErrorRecoveryLevel: { kind: 'number', min: 0, max: 2, default: '0', supportedMax: 0 },
  // Markers were dropped by RFC 7143 (§13.25 keeps the keys for RFC 3720 peers): only "No".
  IFMarker: { kind: 'boolean', default: 'No', supported: 'No' },
  OFMarker: { kind: 'boolean', default: 'No', supported: 'No' },
  IFMarkInt: { kind: 'markint', default: 'Reject' },
  OFMarkInt: { kind: 'markint', default: 'Reject' },
  // iSER keys (RFC 7145); LIO lists them under param/ too. iSER is not supported.
  RDMAExtensions: { kind: 'boolean', default: 'No', supported: 'No' },
  InitiatorRecvDataSegmentLength: { kind: 'number', ...LEN, default: '262144' },
  TargetRecvDataSegmentLength: { kind: 'number', ...LEN, default: '8192' },
});

const DECIMAL = /^[0-9]{1,10}$/;

/** Parse an RFC 7143 numeric value as LIO writes it (decimal). */
export function parseDecimal(s: string): number | undefined {
  return DECIMAL.test(s) ? Number(s) : undefined;
}

function checkValue(c: Checker, path: string, key: string, spec: ParamSpec, value: string): boolean {
  switch (spec.kind) {
    case 'list': {
      const items = value.split(',');
      const seen = new Set<string>();
      for (const item of items) {
        if (!spec.values.includes(item)) {
          fail(c, path, 'parameter-value', `${key} value '${item}' is not one of ${spec.values.join(', ')}`);
          return false;
        }
        if (seen.has(item)) {
          fail(c, path, 'parameter-value', `${key} lists '${item}' twice`);
          return false;
        }
        seen.add(item);
      }
      return true;
    }
    case 'number': {
      const n = parseDecimal(value);
      if (n === undefined) {
        fail(c, path, 'parameter-value', `${key} must be a decimal number, not '${value}'`);
        return false;
      }
      if (n < spec.min || n > spec.max) {
        fail(c, path, 'parameter-value', `${key}=${n} is out of range ${spec.min}..${spec.max} (RFC 7143 §13)`);
        return false;
      }
      if (spec.supportedMax !== undefined && n > spec.supportedMax) {
        fail(c, path, 'unsupported-erl', `${key}=${n} is not supported: tsgt implements error recovery level 0 only`);
        return false;
      }
      return true;
    }
    case 'boolean':
      if (value !== 'Yes' && value !== 'No') {
        fail(c, path, 'parameter-value', `${key} must be Yes or No, not '${value}'`);
        return false;
      }
      if (spec.supported !== undefined && value !== spec.supported) {
        fail(c, path, 'unsupported-feature', `${key}=${value} is not supported by tsgt`);
        return false;
      }
      return true;
    case 'text':
      if (Buffer.byteLength(value, 'utf8') > spec.maxBytes || /[\0]/.test(value)) {
        fail(c, path, 'parameter-value', `${key} must be at most ${spec.maxBytes} bytes without NUL`);
        return false;
      }
      return true;
    case 'markint':
      if (!/^(?:Reject|Irrelevant|[0-9]{1,5}(?:~[0-9]{1,5})?)$/.test(value)) {
        fail(c, path, 'parameter-value', `${key} must be 'Reject' or a range like '2048~65535', not '${value}'`);
        return false;
      }
      return true;
  }
}

/**
 * Validate a TPG `parameters` object. Returns the accepted parameters
 * (unchanged strings) or undefined when the value is not an object.
 */
export function checkTpgParameters(c: Checker, path: string, v: unknown): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) return fail(c, path, 'type', `must be an object, not ${typeName(v)}`);
  const out: Record<string, string> = {};
  for (const [key, raw] of Object.entries(v)) {
    const p = join(path, key);
    const spec = Object.hasOwn(TPG_PARAMETERS, key) ? TPG_PARAMETERS[key] : undefined;
    if (!spec) {
      fail(c, p, 'unknown-parameter', `'${key}' is not an iSCSI parameter tsgt knows`);
      continue;
    }
    if (typeof raw !== 'string') {
      fail(c, p, 'type', `must be a string (rtslib stores parameters as strings), not ${typeName(raw)}`);
      continue;
    }
    if (checkValue(c, p, key, spec, raw)) out[key] = raw;
  }
  // RFC 7143 §13.14: FirstBurstLength must not exceed MaxBurstLength.
  const fbl = parseDecimal(out.FirstBurstLength ?? TPG_PARAMETERS.FirstBurstLength.default!);
  const mbl = parseDecimal(out.MaxBurstLength ?? TPG_PARAMETERS.MaxBurstLength.default!);
  if (fbl !== undefined && mbl !== undefined && fbl > mbl && (out.FirstBurstLength || out.MaxBurstLength)) {
    const at = out.FirstBurstLength !== undefined ? 'FirstBurstLength' : 'MaxBurstLength';
    fail(c, join(path, at), 'first-burst', `FirstBurstLength ${fbl} exceeds MaxBurstLength ${mbl} (RFC 7143 §13.14)`);
  }
  return out;
}
