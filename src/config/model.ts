// The saved configuration: targetcli-fb's /etc/target/saveconfig.json, i.e.
// exactly what rtslib-fb's RTSRoot.dump() writes (keys in rtslib's
// snake_case, sizes in bytes, TPG `parameters` as strings). A file copied from
// a LIO host loads as is when it only uses fileio/block/ramdisk storage and
// iSCSI targets. Everything tsgt needs beyond rtslib lives in the single
// optional top-level `tsgt` object, which rtslib ignores.
//
// Keys rtslib writes that tsgt does not act on (aio, exclusive, unknown LIO
// attributes, nonop/trans delays of ALUA groups, ...) are still modelled so a
// load/save round trip keeps them.

/** LIO attribute values: rtslib writes int() when the configfs value parses, else the string. */
export type AttributeValue = number | string;
export type Attributes = Record<string, AttributeValue>;

/** Backstore plugins tsgt implements (rtslib's plugin names, as dump() writes them). */
export type StoragePlugin = 'fileio' | 'block' | 'ramdisk';

/**
 * rtslib ALUATargetPortGroup.dump() (targetcli /backstores/<plugin>/<so>/alua/<group>),
 * kept verbatim for the round trip. Applied when a storage object has a group
 * besides default_tg_pt_gp (config/alua.ts, docs/ALUA.md): alua_access_type
 * 0 none / 1 implicit / 2 explicit / 3 both (LIO default 3); alua_access_state
 * 0 active/optimized, 1 active/non-optimized, 2 standby, 3 unavailable, 14
 * offline, 15 transitioning, and its alua_support_* flag must be 1 (LIO
 * default: all 1); alua_access_status 0..2; preferred 0/1 (PREF bit);
 * implicit_trans_secs 0..255 (RTPG extended header); alua_write_metadata 1
 * keeps explicitly set states across restarts (under the state directory).
 * nonop_delay_msecs and trans_delay_msecs are range-checked but not applied.
 */
export interface AluaTpgConfig {
  name: string;
  tg_pt_gp_id: number;
  alua_access_state?: number;
  alua_access_status?: number;
  alua_access_type?: number;
  alua_write_metadata?: number;
  preferred?: number;
  nonop_delay_msecs?: number;
  trans_delay_msecs?: number;
  implicit_trans_secs?: number;
  alua_support_offline?: number;
  alua_support_standby?: number;
  alua_support_transitioning?: number;
  alua_support_active_nonoptimized?: number;
  alua_support_unavailable?: number;
  alua_support_active_optimized?: number;
  [key: string]: AttributeValue | boolean | null | undefined;
}

interface StorageObjectCommon {
  /** Unique per plugin. */
  name: string;
  /** T10 unit serial; rtslib generates a UUID v4. Required for tsgt to present stable VPD pages. */
  wwn?: string;
  /**
   * LIO device attributes (block_size, emulate_write_cache, emulate_tpu,
   * max_unmap_lba_count, ...). Unknown ones are accepted and preserved.
   * tsgt extensions (rtslib round-trips them as unknown attributes):
   * - `removable` (0/1, default 0): the LU has a removable medium — INQUIRY
   *   RMB=1, START STOP UNIT ejects/loads it, PREVENT ALLOW MEDIUM REMOVAL
   *   holds it, medium-access commands get NOT READY, MEDIUM NOT PRESENT while
   *   it is ejected. The medium starts loaded (also after a restart).
   * - `sanitize_mib_per_sec` (default 0 = unlimited): rate limit of a SANITIZE
   *   operation (OVERWRITE / BLOCK ERASE) in MiB/s, so that a wipe running in
   *   the background does not saturate storage shared with other LUs.
   * - `encryption` (0/1, default 0): user data is stored encrypted with
   *   AES-256-XTS (IEEE 1619, one data unit per logical block, tweak = LBA)
   *   under a random per-LU key kept in `<stateDir>/keys/<wwn>.key`; SANITIZE
   *   CRYPTOGRAPHIC ERASE replaces the key. Needs a state directory. Blocks
   *   whose stored bytes are all zero (never written, unmapped, zeroed) read
   *   as zeros unencrypted, so which blocks hold data is visible on the medium.
   * - `physical_block_size` (bytes; a power of two, at least block_size and
   *   at most block_size × 2^15; default: the block device's physical sector
   *   size for the block plugin when the native addon can tell, else
   *   block_size): READ CAPACITY (16) LOGICAL BLOCKS PER PHYSICAL BLOCK
   *   EXPONENT, VPD B0h OPTIMAL TRANSFER LENGTH GRANULARITY, and the floor
   *   of OPTIMAL UNMAP GRANULARITY on a thin LU.
   */
  attributes?: Attributes;
  alua_tpgs?: AluaTpgConfig[];
}

/** rtslib FileIOStorageObject.dump(). */
export interface FileioStorageObjectConfig extends StorageObjectCommon {
  plugin: 'fileio';
  /** Path of the backing file. */
  dev: string;
  /** Bytes; required when the file does not exist yet (it is then created sparse). */
  size?: number;
  /** Volatile write cache (LIO's emulate_write_cache follows it). rtslib default: false. */
  write_back?: boolean;
  /** LIO async I/O flag; tsgt always does asynchronous I/O, kept for the round trip. */
  aio?: boolean;
}

/** rtslib BlockStorageObject.dump(). */
export interface BlockStorageObjectConfig extends StorageObjectCommon {
  plugin: 'block';
  /** Path of the block device. */
  dev: string;
  readonly?: boolean;
  write_back?: boolean;
  /** LIO exclusive open flag; kept for the round trip. */
  exclusive?: boolean;
}

/** rtslib RDMCPStorageObject.dump() (plugin alias `rd_mcp` is accepted on input). */
export interface RamdiskStorageObjectConfig extends StorageObjectCommon {
  plugin: 'ramdisk';
  /** Bytes. */
  size: number;
  /** Reads return zeros, writes are discarded. rtslib only writes it when true. */
  nullio?: boolean;
}

export type StorageObjectConfig =
  | FileioStorageObjectConfig
  | BlockStorageObjectConfig
  | RamdiskStorageObjectConfig;

/** rtslib NetworkPortal.dump(). IPv6 addresses are written in brackets by targetcli ("[::0]"). */
export interface PortalConfig {
  ip_address: string;
  port: number;
  iser?: boolean;
  offload?: boolean;
}

/** rtslib LUN.dump(). */
export interface LunConfig {
  index: number;
  /** "/backstores/<plugin>/<name>" */
  storage_object: string;
  /** configfs link name; rtslib writes a random 10-hex string. */
  alias?: string | null;
  /** ALUA group of the storage object this LUN (target port) is in; null/absent: default_tg_pt_gp. */
  alua_tg_pt_gp_name?: string | null;
}

/** rtslib MappedLUN.dump(). */
export interface MappedLunConfig {
  /** The LUN number the initiator sees. */
  index: number;
  /** `index` of a LUN of the same TPG. */
  tpg_lun: number;
  write_protect: boolean;
  alias?: string | null;
  /** Group tag (read by MappedLUN.setup, not written by dump). */
  tag?: string | null;
}

/** The four rtslib auth properties (TPG and NodeACL level). */
export interface ChapCredentials {
  chap_userid?: string;
  chap_password?: string;
  chap_mutual_userid?: string;
  chap_mutual_password?: string;
}

/** rtslib NodeACL.dump(). */
export interface NodeAclConfig extends ChapCredentials {
  /** Initiator name (iqn./eui./naa.). */
  node_wwn: string;
  /** dataout_timeout, nopin_timeout, nopin_response_timeout, default_erl, ... */
  attributes?: Attributes;
  mapped_luns: MappedLunConfig[];
  /** NodeACL group tag. */
  tag?: string | null;
}

/** rtslib TPG.dump(). */
export interface TpgConfig extends ChapCredentials {
  /** TPGT, 1..65535. */
  tag: number;
  /** rtslib writes true/false (older versions 1/0); normalised to boolean on load. */
  enable: boolean;
  /** authentication, generate_node_acls, demo_mode_write_protect, cache_dynamic_acls, default_cmdsn_depth, ... */
  attributes?: Attributes;
  /** iSCSI login keys as strings: HeaderDigest, MaxBurstLength, TargetAlias, ... */
  parameters?: Record<string, string>;
  portals: PortalConfig[];
  luns: LunConfig[];
  node_acls: NodeAclConfig[];
}

/** rtslib Target.dump(). Only the iSCSI fabric is supported. */
export interface TargetConfig {
  fabric: 'iscsi';
  /** Target name (iqn./eui./naa.). */
  wwn: string;
  tpgs: TpgConfig[];
}

/** rtslib FabricModule.dump() (only written when discovery auth is enabled). */
export interface FabricModuleConfig {
  name: 'iscsi';
  discovery_enable_auth?: boolean;
  discovery_userid?: string;
  discovery_password?: string;
  discovery_mutual_userid?: string;
  discovery_mutual_password?: string;
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * tsgt's own settings, absent from rtslib's format (rtslib ignores unknown
 * top-level keys on restore). Every field is optional; see TSGT_DEFAULTS.
 */
export interface TsgtSettings {
  /** Schema version of this object. */
  version: 1;
  /** Seconds of connection idleness before the target sends a NOP-In ping; 0 disables. */
  nop_in_interval?: number;
  /** Seconds to wait for the NOP-Out answer before dropping the connection. */
  nop_in_timeout?: number;
  /** Seconds a solicited write may wait for its Data-Out before the connection is dropped (LIO dataout_timeout). */
  dataout_timeout?: number;
  /** Commands in flight per session (the CmdSN window); LIO's default_cmdsn_depth is the per-TPG override. */
  queue_depth?: number;
  /** INQUIRY T10 vendor identification, ≤ 8 ASCII characters. */
  vendor?: string;
  /** INQUIRY product identification, ≤ 16 ASCII characters. */
  product?: string;
  /** INQUIRY product revision level, ≤ 4 ASCII characters. */
  revision?: string;
  log_level?: LogLevel;
  /**
   * µs the event loop keeps polling after a read instead of sleeping
   * (adaptive, as KVM halt polling; Linux's net.core.busy_poll is the same
   * unit); 0 disables. Left unset it is 100 on a machine with more than one
   * CPU and 0 on one CPU.
   */
  busy_poll?: number;
}

/** rtslib RTSRoot.dump() + tsgt's optional settings. */
export interface SaveConfig {
  storage_objects: StorageObjectConfig[];
  targets: TargetConfig[];
  fabric_modules: FabricModuleConfig[];
  tsgt?: TsgtSettings;
}

export const TSGT_DEFAULTS: Readonly<Required<Omit<TsgtSettings, 'version'>>> = Object.freeze({
  nop_in_interval: 5,
  nop_in_timeout: 30,
  dataout_timeout: 15,
  queue_depth: 128,
  vendor: 'TSGT',
  product: 'tsgt',
  revision: '0001',
  log_level: 'info',
  busy_poll: 100,
});

/** tsgt settings with defaults filled in. */
export function tsgtSettings(config: SaveConfig): Required<TsgtSettings> {
  return { version: 1, ...TSGT_DEFAULTS, ...stripUndefined(config.tsgt ?? {}) };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
