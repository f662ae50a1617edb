// A logical unit of the SCSI target device: identity derived from the storage
// object, plus the per-LU state SAM-5 keeps (task set, unit attentions, mode
// parameters, SPC-2 reservation, persistent reservations, PREVENT state).

import type { LogicalUnit, LogicalUnitOptions, Nexus } from './api.js';
import { loadPersistentReservations, type PersistentReservations } from './pr/state.js';
import { TaskSet } from './task-set.js';
import { createUnitAttentionState, forgetNexus, registerNexus, type UnitAttentionState } from './unit-attention.js';
import { defaultModeState, type ModeState } from './spc/mode-pages.js';
import { createAluaState, type AluaState } from './alua.js';

/** Bytes per command we accept and advertise (VPD B0h MAXIMUM TRANSFER LENGTH). */
export const MAX_TRANSFER_BYTES = 8 * 1024 * 1024;

/** IEEE OUI used in the NAA IEEE Registered Extended designator (the one LIO uses). */
export const NAA_OUI = 0x001405;

const LU_BRAND: unique symbol = Symbol('tsgt.scsi.logical-unit');

export interface LogicalUnitState extends LogicalUnit {
  readonly [LU_BRAND]: true;
  readonly options: LogicalUnitOptions;
  /** VPD 80h PRODUCT SERIAL NUMBER. */
  readonly serial: string;
  /** 16-byte NAA IEEE Registered Extended designator (VPD 83h). */
  readonly naa: Buffer;
  readonly maxTransferBlocks: number;
  /**
   * Logical blocks per physical block (a power of two, 1..2^15): READ
   * CAPACITY (16) LBPPBE is its log2, VPD B0h OPTIMAL TRANSFER LENGTH
   * GRANULARITY its value.
   */
  readonly blocksPerPhysicalBlock: number;
  readonly ua: UnitAttentionState;
  readonly tasks: TaskSet;
  mode: ModeState;
  /** Nexus id holding the SPC-2 RESERVE(6)/(10) reservation. */
  reservation: string | undefined;
  /** Nexus ids that sent PREVENT ALLOW MEDIUM REMOVAL with PREVENT=1. */
  readonly preventers: Set<string>;
  /** Hard resets (LU reset, target reset) so far: state kept elsewhere (held copy results) compares it to notice one. */
  resets: number;
  /** Persistent reservations (SPC-4 §5.9); survive LU reset and I_T nexus loss. */
  readonly pr: PersistentReservations;
  /** The I_T nexuses that have met this LU and still exist (unit attention and PR notification targets). */
  readonly nexuses: Map<string, Nexus>;
  /** A medium is mounted (always true for a fixed-medium LU; START STOP UNIT LOEJ=1 changes it on a removable one). */
  mediumPresent: boolean;
  /** The sanitize operation in progress (SBC-4 §4.11); it outlives resets and I_T nexus loss. */
  sanitizing: SanitizeOperation | undefined;
  /** The last sanitize operation failed: medium access is refused until a sanitize succeeds or, with AUSE, EXIT FAILURE MODE. */
  sanitizeFailure: { readonly ause: boolean } | undefined;
  /** Configured target port groups and their access states (alua.ts); undefined: one active/optimized group per target port. */
  readonly alua: AluaState | undefined;
}

/** A sanitize operation running in the background (sbc/sanitize.ts). */
export interface SanitizeOperation {
  /** SANITIZE service action (01h OVERWRITE, 02h BLOCK ERASE). */
  readonly serviceAction: number;
  /** AUSE bit of the SANITIZE command that started it. */
  readonly ause: boolean;
  /** Fraction done, as the SPC-4 progress indication numerator (denominator 65536). */
  progress: number;
  /** Resolves true when the operation completed without error, false when it failed. Never rejects. */
  readonly done: Promise<boolean>;
}

export function isLogicalUnitState(unit: LogicalUnit): unit is LogicalUnitState {
  return (unit as Partial<LogicalUnitState>)[LU_BRAND] === true;
}

export function unitState(unit: LogicalUnit): LogicalUnitState {
  if (!isLogicalUnitState(unit)) throw new TypeError(`logical unit ${unit.name} was not created by createLogicalUnit`);
  return unit;
}

export function serialFromWwn(wwn: string): string {
  return wwn.replace(/-/g, '');
}

/**
 * NAA 6h IEEE Registered Extended (SPC-4 §7.8.6.6.5): 4-bit NAA, 24-bit OUI,
 * then 100 bits of vendor specific identifier taken from the wwn's hex digits.
 */
export function naaFromWwn(wwn: string): Buffer {
  const digits = (wwn.toLowerCase().match(/[0-9a-f]/g) ?? []).join('');
  const oui = NAA_OUI.toString(16).padStart(6, '0');
  const hex = ('6' + oui + digits).padEnd(32, '0').slice(0, 32);
  return Buffer.from(hex, 'hex');
}

/** Largest LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (a 4-bit field of READ CAPACITY (16)). */
export const MAX_LBPPB_EXPONENT = 15;

/**
 * Logical blocks per physical block for `physicalBlockSize` bytes over
 * `blockSize`-byte logical blocks; undefined unless it is a power of two from
 * 1 to 2^MAX_LBPPB_EXPONENT.
 */
export function blocksPerPhysicalBlock(blockSize: number, physicalBlockSize: number): number | undefined {
  if (!Number.isSafeInteger(physicalBlockSize) || physicalBlockSize < blockSize || physicalBlockSize % blockSize !== 0) return undefined;
  const n = physicalBlockSize / blockSize;
  return (n & (n - 1)) === 0 && n <= 2 ** MAX_LBPPB_EXPONENT ? n : undefined;
}

/**
 * OPTIMAL UNMAP GRANULARITY (VPD B0h, SBC-3 §6.5.3) of a whole number of
 * physical blocks, at least one: unmapping part of a physical block only
 * zeroes it, it frees nothing. The LU's provisioning options carry the
 * result, so VPD B0h and every command read the same value.
 */
function withPhysicalGranularity(options: LogicalUnitOptions, lbppb: number): LogicalUnitOptions {
  const p = options.provisioning;
  if (lbppb === 1 || p === undefined) return options;
  const positive = (v: number | undefined) => (v !== undefined && Number.isSafeInteger(v) && v > 0 ? v : undefined);
  const granularity = positive(p.unmapGranularity) ?? positive(options.device.unmapGranularity) ?? 1;
  return { ...options, provisioning: { ...p, unmapGranularity: Math.ceil(granularity / lbppb) * lbppb } };
}

/** Throws RangeError for a physicalBlockSize that is not a power-of-two multiple of the block size (validated config never has one). */
export function createLogicalUnit(unitOptions: LogicalUnitOptions): LogicalUnitState {
  const blockSize = unitOptions.device.blockSize;
  const lbppb = blocksPerPhysicalBlock(blockSize, unitOptions.physicalBlockSize ?? blockSize);
  if (lbppb === undefined) {
    throw new RangeError(`logical unit ${unitOptions.name}: physical block size ${unitOptions.physicalBlockSize} is not a power-of-two multiple (at most 2^${MAX_LBPPB_EXPONENT}) of the block size ${blockSize}`);
  }
  const options = withPhysicalGranularity(unitOptions, lbppb);
  return {
    [LU_BRAND]: true,
    name: options.name,
    device: options.device,
    options,
    serial: serialFromWwn(options.wwn),
    naa: naaFromWwn(options.wwn),
    maxTransferBlocks: Math.max(1, Math.floor(MAX_TRANSFER_BYTES / blockSize)),
    blocksPerPhysicalBlock: lbppb,
    ua: createUnitAttentionState(),
    tasks: new TaskSet(),
    mode: defaultModeState(),
    reservation: undefined,
    preventers: new Set(),
    resets: 0,
    pr: loadPersistentReservations(options.prStore),
    nexuses: new Map(),
    mediumPresent: true,
    sanitizing: undefined,
    sanitizeFailure: undefined,
    alua: createAluaState(options.alua),
  };
}

/** First contact of an I_T nexus with the LU (see registerNexus for its unit attentions). */
export function attachNexus(unit: LogicalUnitState, nexus: Nexus): void {
  if (registerNexus(unit.ua, nexus.id, nexus.initiatorPortName)) unit.nexuses.set(nexus.id, nexus);
}

/** I_T nexus loss as far as the LU's bookkeeping goes. */
export function detachNexus(unit: LogicalUnitState, nexusId: string): void {
  unit.nexuses.delete(nexusId);
  forgetNexus(unit.ua, nexusId);
}

/** The LU is read-only for this mapping (SBC-3 §4.11: WP, SWP, storage object readonly). */
export function isWriteProtected(unit: LogicalUnitState, mappingWriteProtect: boolean): boolean {
  return mappingWriteProtect || unit.options.readOnly === true || unit.device.readOnly || unit.mode.swp;
}

/**
 * Hard reset of LU state (SAM-5 §6.3.3 LOGICAL UNIT RESET / target reset);
 * persistent reservations are kept. So are the medium state (a reset does not
 * load an ejected medium) and any sanitize operation (SBC-4 §4.11.2: it
 * persists through resets).
 */
export function resetUnitState(unit: LogicalUnitState): void {
  unit.resets++;
  unit.reservation = undefined;
  unit.preventers.clear();
  unit.mode = defaultModeState();
}
