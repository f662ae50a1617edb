// The optional top-level `tsgt` object: tsgt's own settings (model.ts TsgtSettings).

import type { TsgtSettings } from './model.js';
import { type Checker, asObject, compact, fail, join, onlyKeys, optInt, typeName } from './check.js';

const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'trace'] as const;

function inquiryString(c: Checker, path: string, v: unknown, max: number): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') return fail(c, path, 'type', `must be a string, not ${typeName(v)}`);
  // SPC-4 §4.3.1: INQUIRY identification fields are printable ASCII, space padded.
  if (!new RegExp(`^[\\x20-\\x7e]{1,${max}}$`).test(v)) {
    return fail(c, path, 'inquiry-string', `must be 1..${max} printable ASCII characters`);
  }
  return v;
}

export function checkTsgt(c: Checker, path: string, v: unknown): TsgtSettings | undefined {
  if (v === undefined) return undefined;
  const o = asObject(c, path, v);
  if (!o) return undefined;
  onlyKeys(c, path, o, ['version', 'nop_in_interval', 'nop_in_timeout', 'dataout_timeout', 'queue_depth', 'vendor', 'product', 'revision', 'log_level', 'busy_poll']);
  if (o.version !== 1) fail(c, join(path, 'version'), 'tsgt-version', `must be 1, not ${JSON.stringify(o.version)}`);
  let log_level: TsgtSettings['log_level'];
  if (o.log_level !== undefined) {
    if (typeof o.log_level === 'string' && (LOG_LEVELS as readonly string[]).includes(o.log_level)) {
      log_level = o.log_level as TsgtSettings['log_level'];
    } else {
      fail(c, join(path, 'log_level'), 'log-level', `must be one of ${LOG_LEVELS.join(', ')}`);
    }
  }
  return compact({
    version: 1 as const,
    nop_in_interval: optInt(c, join(path, 'nop_in_interval'), o.nop_in_interval, 0, 3600),
    nop_in_timeout: optInt(c, join(path, 'nop_in_timeout'), o.nop_in_timeout, 1, 3600),
    dataout_timeout: optInt(c, join(path, 'dataout_timeout'), o.dataout_timeout, 1, 3600),
    // CmdSN window (RFC 7143 §4.2.2.1); LIO caps default_cmdsn_depth similarly.
    queue_depth: optInt(c, join(path, 'queue_depth'), o.queue_depth, 1, 65535),
    vendor: inquiryString(c, join(path, 'vendor'), o.vendor, 8),
    product: inquiryString(c, join(path, 'product'), o.product, 16),
    revision: inquiryString(c, join(path, 'revision'), o.revision, 4),
    log_level,
    // 10 ms: a longer spin is a busy loop, not polling.
    busy_poll: optInt(c, join(path, 'busy_poll'), o.busy_poll, 0, 10_000),
  });
}
