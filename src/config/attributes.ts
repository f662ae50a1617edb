// LIO `attributes` objects (storage object attrib/, TPG attrib/, NodeACL
// attrib/). rtslib dumps every writable attribute, int() when it parses.
// Unknown attributes are accepted and kept (newer kernels add some); known
// ones must hold values LIO itself would accept, and the few tsgt cannot
// honour are refused.

import type { Attributes } from './model.js';
import { type Checker, fail, isObject, join, typeName } from './check.js';

type AttrSpec =
  | { kind: 'bool' }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'enum'; values: readonly number[]; rule: string; why: string }
  /** A power-of-two multiple of the logical block size, at most 2^maxExponent of them (checked against the sibling block_size). */
  | { kind: 'physical-block'; maxExponent: number; rule: string };

const BOOL: AttrSpec = { kind: 'bool' };
const UINT: AttrSpec = { kind: 'int', min: 0, max: 0xffffffff };

/** Logical block sizes tsgt implements (LIO also allows 1024 and 2048). */
export const SUPPORTED_BLOCK_SIZES: readonly number[] = [512, 4096];

export const STORAGE_ATTRIBUTES: Readonly<Record<string, AttrSpec>> = Object.freeze({
  block_size: { kind: 'enum', values: SUPPORTED_BLOCK_SIZES, rule: 'block-size', why: 'tsgt supports block_size 512 or 4096' },
  emulate_model_alias: BOOL,
  emulate_dpo: BOOL,
  emulate_fua_write: BOOL,
  emulate_fua_read: BOOL,
  emulate_write_cache: BOOL,
  emulate_ua_intlck_ctrl: { kind: 'int', min: 0, max: 2 },
  emulate_tas: BOOL,
  emulate_tpu: BOOL,
  emulate_tpws: BOOL,
  emulate_caw: BOOL,
  emulate_3pc: BOOL,
  emulate_pr: BOOL,
  emulate_rest_reord: BOOL,
  enforce_pr_isids: BOOL,
  force_pr_aptpl: BOOL,
  is_nonrot: BOOL,
  unmap_zeroes_data: BOOL,
  alua_support: BOOL,
  pgr_support: BOOL,
  pi_prot_type: { kind: 'int', min: 0, max: 3 },
  pi_prot_format: BOOL,
  pi_prot_verify: BOOL,
  hw_max_sectors: { kind: 'int', min: 1, max: 0xffffffff },
  hw_block_size: UINT,
  hw_queue_depth: UINT,
  queue_depth: { kind: 'int', min: 1, max: 0xffffffff },
  max_unmap_lba_count: UINT,
  max_unmap_block_desc_count: UINT,
  unmap_granularity: UINT,
  unmap_granularity_alignment: UINT,
  max_write_same_len: UINT,
  optimal_sectors: UINT,
  // tsgt extensions (rtslib keeps attributes it does not know; LIO has no removable media on fileio/block).
  removable: BOOL,
  encryption: BOOL,
  sanitize_mib_per_sec: UINT,
  physical_block_size: { kind: 'physical-block', maxExponent: 15, rule: 'physical-block-size' },
});

export const TPG_ATTRIBUTES: Readonly<Record<string, AttrSpec>> = Object.freeze({
  authentication: BOOL,
  generate_node_acls: BOOL,
  cache_dynamic_acls: BOOL,
  demo_mode_write_protect: BOOL,
  prod_mode_write_protect: BOOL,
  demo_mode_discovery: BOOL,
  tpg_enabled_sendtargets: BOOL,
  login_keys_workaround: BOOL,
  t10_pi: BOOL,
  fabric_prot_type: { kind: 'int', min: 0, max: 3 },
  default_cmdsn_depth: { kind: 'int', min: 1, max: 0xffffffff },
  login_timeout: UINT,
  netif_timeout: UINT,
  default_erl: { kind: 'enum', values: [0], rule: 'unsupported-erl', why: 'tsgt implements error recovery level 0 only' },
});

export const ACL_ATTRIBUTES: Readonly<Record<string, AttrSpec>> = Object.freeze({
  dataout_timeout: UINT,
  dataout_timeout_retries: UINT,
  default_erl: { kind: 'enum', values: [0], rule: 'unsupported-erl', why: 'tsgt implements error recovery level 0 only' },
  nopin_timeout: UINT,
  nopin_response_timeout: UINT,
  random_datain_pdu_offsets: BOOL,
  random_datain_seq_offsets: BOOL,
  random_r2t_offsets: BOOL,
});

/** Validate an attributes object against a table; unknown names pass if number or string. */
export function checkAttributes(
  c: Checker,
  path: string,
  v: unknown,
  table: Readonly<Record<string, AttrSpec>>,
): Attributes | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) return fail(c, path, 'type', `must be an object, not ${typeName(v)}`);
  const out: Attributes = {};
  for (const [name, value] of Object.entries(v)) {
    const p = join(path, name);
    if (typeof value !== 'number' && typeof value !== 'string') {
      fail(c, p, 'type', `must be a number or a string, not ${typeName(value)}`);
      continue;
    }
    const spec = Object.hasOwn(table, name) ? table[name] : undefined;
    if (spec && !checkKnown(c, p, name, spec, value, v)) continue;
    out[name] = value;
  }
  return out;
}

function checkKnown(c: Checker, path: string, name: string, spec: AttrSpec, value: number | string, all: Readonly<Record<string, unknown>>): boolean {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    fail(c, path, 'attribute-value', `${name} must be an integer, not ${JSON.stringify(value)}`);
    return false;
  }
  switch (spec.kind) {
    case 'bool':
      if (value === 0 || value === 1) return true;
      fail(c, path, 'attribute-value', `${name} must be 0 or 1, not ${value}`);
      return false;
    case 'int':
      if (value >= spec.min && value <= spec.max) return true;
      fail(c, path, 'attribute-value', `${name}=${value} is out of range ${spec.min}..${spec.max}`);
      return false;
    case 'enum':
      if (spec.values.includes(value)) return true;
      fail(c, path, spec.rule, `${name}=${value}: ${spec.why}`);
      return false;
    case 'physical-block':
      return checkPhysicalBlock(c, path, name, spec, value, all.block_size);
  }
}

/**
 * physical_block_size against block_size (READ CAPACITY (16) reports their
 * ratio as a 4-bit power-of-two exponent). An invalid block_size has its own
 * error; the check then uses LIO's default 512 so that one mistake is one error.
 */
function checkPhysicalBlock(c: Checker, path: string, name: string, spec: { maxExponent: number; rule: string }, value: number, blockSizeValue: unknown): boolean {
  const blockSize = typeof blockSizeValue === 'number' && SUPPORTED_BLOCK_SIZES.includes(blockSizeValue) ? blockSizeValue : 512;
  const max = blockSize * 2 ** spec.maxExponent;
  let why: string | undefined;
  if (value <= 0 || 2 ** Math.round(Math.log2(value)) !== value) why = 'must be a power of two';
  else if (value < blockSize) why = `must be at least block_size (${blockSize})`;
  else if (value > max) why = `must be at most block_size × 2^${spec.maxExponent} (${max})`;
  if (why === undefined) return true;
  fail(c, path, spec.rule, `${name}=${value} ${why}: it is a power-of-two multiple of block_size, 1 to 2^${spec.maxExponent} logical blocks per physical block`);
  return false;
}

/** The storage object's logical block size (LIO default 512). */
export function blockSizeOf(attributes: Attributes | undefined): number {
  const v = attributes?.block_size;
  return typeof v === 'number' ? v : 512;
}
