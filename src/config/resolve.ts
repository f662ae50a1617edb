// Pure helpers the runtime uses to read a validated SaveConfig with LIO's
// defaults filled in, so behaviour matches the LIO host the file came from.

import type { AttributeValue, NodeAclConfig, SaveConfig, StorageObjectConfig, StoragePlugin, TpgConfig } from './model.js';
import { TPG_PARAMETERS, parseDecimal } from './params.js';
import { blockSizeOf } from './attributes.js';

/** rtslib's so_mapping: dump names plus the configfs directory prefixes it also accepts. */
export const PLUGIN_ALIASES: Readonly<Record<string, StoragePlugin>> = Object.freeze({
  fileio: 'fileio',
  block: 'block',
  iblock: 'block',
  ramdisk: 'ramdisk',
  rd_mcp: 'ramdisk',
});

export interface StorageObjectRef {
  /** The dump name for a known alias (rd_mcp → ramdisk), else the plugin as written. */
  plugin: string;
  /** The plugin as written in the reference. */
  rawPlugin: string;
  name: string;
}

/** Parse "/backstores/<plugin>/<name>" (rtslib LUN.setup splits it the same way). */
export function parseStorageObjectRef(ref: string): StorageObjectRef | undefined {
  const m = /^\/backstores\/([^/]+)\/([^/]+)$/.exec(ref);
  if (!m) return undefined;
  const rawPlugin = m[1];
  const plugin = Object.hasOwn(PLUGIN_ALIASES, rawPlugin) ? PLUGIN_ALIASES[rawPlugin] : rawPlugin;
  return { plugin, rawPlugin, name: m[2] };
}

/** The storage object a LUN's storage_object path names, if any. */
export function findStorageObject(config: SaveConfig, ref: string): StorageObjectConfig | undefined {
  const r = parseStorageObjectRef(ref);
  if (!r) return undefined;
  return config.storage_objects.find((so) => so.plugin === r.plugin && so.name === r.name);
}

export function storageObjectRef(so: StorageObjectConfig): string {
  return `/backstores/${so.plugin}/${so.name}`;
}

/** Logical block size of a storage object (attribute block_size, LIO default 512). */
export function storageBlockSize(so: StorageObjectConfig): number {
  return blockSizeOf(so.attributes);
}

/** TPG parameters with LIO's defaults, typed. Values come from a validated config. */
export interface EffectiveTpgParameters {
  AuthMethod: string[];
  HeaderDigest: string[];
  DataDigest: string[];
  MaxConnections: number;
  TargetAlias?: string;
  InitialR2T: boolean;
  ImmediateData: boolean;
  MaxRecvDataSegmentLength: number;
  MaxXmitDataSegmentLength: number;
  MaxBurstLength: number;
  FirstBurstLength: number;
  DefaultTime2Wait: number;
  DefaultTime2Retain: number;
  MaxOutstandingR2T: number;
  DataPDUInOrder: boolean;
  DataSequenceInOrder: boolean;
  ErrorRecoveryLevel: number;
}

/** Every known TPG parameter as the string the target offers: configured value, else LIO's default. */
export function effectiveTpgParameterStrings(tpg: Pick<TpgConfig, 'parameters'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, spec] of Object.entries(TPG_PARAMETERS)) {
    const v = tpg.parameters?.[key] ?? spec.default;
    if (v !== undefined) out[key] = v;
  }
  return out;
}

export function effectiveTpgParameters(tpg: Pick<TpgConfig, 'parameters'>): EffectiveTpgParameters {
  const s = effectiveTpgParameterStrings(tpg);
  const num = (k: string) => parseDecimal(s[k]) ?? Number(TPG_PARAMETERS[k].default);
  const yes = (k: string) => s[k] === 'Yes';
  const p: EffectiveTpgParameters = {
    AuthMethod: s.AuthMethod.split(','),
    HeaderDigest: s.HeaderDigest.split(','),
    DataDigest: s.DataDigest.split(','),
    MaxConnections: num('MaxConnections'),
    InitialR2T: yes('InitialR2T'),
    ImmediateData: yes('ImmediateData'),
    MaxRecvDataSegmentLength: num('MaxRecvDataSegmentLength'),
    MaxXmitDataSegmentLength: num('MaxXmitDataSegmentLength'),
    MaxBurstLength: num('MaxBurstLength'),
    FirstBurstLength: num('FirstBurstLength'),
    DefaultTime2Wait: num('DefaultTime2Wait'),
    DefaultTime2Retain: num('DefaultTime2Retain'),
    MaxOutstandingR2T: num('MaxOutstandingR2T'),
    DataPDUInOrder: yes('DataPDUInOrder'),
    DataSequenceInOrder: yes('DataSequenceInOrder'),
    ErrorRecoveryLevel: num('ErrorRecoveryLevel'),
  };
  if (s.TargetAlias !== undefined) p.TargetAlias = s.TargetAlias;
  return p;
}

/** LIO's TPG attribute defaults (drivers/target/iscsi/iscsi_target_tpg.h, TA_*). */
export const TPG_ATTRIBUTE_DEFAULTS: Readonly<Record<string, number>> = Object.freeze({
  authentication: 0,
  generate_node_acls: 0,
  cache_dynamic_acls: 0,
  demo_mode_write_protect: 1,
  prod_mode_write_protect: 0,
  demo_mode_discovery: 1,
  default_cmdsn_depth: 64,
  login_timeout: 15,
  netif_timeout: 2,
  default_erl: 0,
  t10_pi: 0,
  fabric_prot_type: 0,
  tpg_enabled_sendtargets: 1,
  login_keys_workaround: 1,
});

/** LIO's NodeACL attribute defaults (iscsi_target_nodeattrib.h, NA_*). */
export const ACL_ATTRIBUTE_DEFAULTS: Readonly<Record<string, number>> = Object.freeze({
  dataout_timeout: 3,
  dataout_timeout_retries: 5,
  default_erl: 0,
  nopin_timeout: 15,
  nopin_response_timeout: 30,
  random_datain_pdu_offsets: 0,
  random_datain_seq_offsets: 0,
  random_r2t_offsets: 0,
});

/** A TPG attribute, or LIO's default for it; undefined for unknown names. */
export function tpgAttribute(tpg: Pick<TpgConfig, 'attributes'>, name: string): number | undefined {
  return numberOr(tpg.attributes?.[name], TPG_ATTRIBUTE_DEFAULTS[name]);
}

export function aclAttribute(acl: Pick<NodeAclConfig, 'attributes'>, name: string): number | undefined {
  return numberOr(acl.attributes?.[name], ACL_ATTRIBUTE_DEFAULTS[name]);
}

function numberOr(v: AttributeValue | undefined, fallback: number | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return fallback;
}

/** Write-cache setting of a storage object: rtslib write_back (default false); ramdisk has none. */
export function storageWriteBack(so: StorageObjectConfig): boolean {
  return so.plugin === 'ramdisk' ? false : so.write_back ?? false;
}

/**
 * Logical block provisioning of a storage object from its LIO attributes:
 * emulate_tpu (UNMAP), emulate_tpws (WRITE SAME with UNMAP), and the VPD B0h
 * limits max_unmap_lba_count, max_unmap_block_desc_count, unmap_granularity,
 * unmap_granularity_alignment. A limit that is absent or 0 is left to tsgt's
 * default (LIO computes these from the backstore when it configures the device
 * and 0 would make every UNMAP fail). unmap_zeroes_data is passed on only when
 * set: 0 withholds LBPRZ, 1 cannot make a device that does not read holes as
 * zeros claim it.
 */
export interface StorageProvisioning {
  unmap: boolean;
  writeSameUnmap: boolean;
  maxUnmapLbaCount?: number;
  maxUnmapBlockDescriptorCount?: number;
  unmapGranularity?: number;
  unmapGranularityAlignment?: number;
  unmapZeroesData?: boolean;
}

export function storageProvisioning(so: Pick<StorageObjectConfig, 'attributes'>): StorageProvisioning {
  const a = so.attributes;
  const attr = (name: string): number | undefined => numberOr(a?.[name], undefined);
  const limit = (name: string): number | undefined => {
    const v = attr(name);
    return v !== undefined && v > 0 ? v : undefined;
  };
  const out: StorageProvisioning = { unmap: attr('emulate_tpu') === 1, writeSameUnmap: attr('emulate_tpws') === 1 };
  const set = <K extends keyof StorageProvisioning>(key: K, value: StorageProvisioning[K] | undefined): void => {
    if (value !== undefined) out[key] = value;
  };
  set('maxUnmapLbaCount', limit('max_unmap_lba_count'));
  set('maxUnmapBlockDescriptorCount', limit('max_unmap_block_desc_count'));
  set('unmapGranularity', limit('unmap_granularity'));
  set('unmapGranularityAlignment', limit('unmap_granularity_alignment'));
  const zeroes = attr('unmap_zeroes_data');
  set('unmapZeroesData', zeroes === undefined ? undefined : zeroes === 1);
  return out;
}

/** The storage object asks for thin provisioning (emulate_tpu or emulate_tpws). */
export function wantsThinProvisioning(so: Pick<StorageObjectConfig, 'attributes'>): boolean {
  const p = storageProvisioning(so);
  return p.unmap || p.writeSameUnmap;
}
