// Logical block provisioning of a logical unit (SBC-3 §4.7): the one place
// that decides whether the LU is thin and which limits it advertises, shared
// by READ CAPACITY (16) (LBPME/LBPRZ), VPD B0h/B2h, UNMAP, WRITE SAME and
// GET LBA STATUS, so that what the pages promise is what the commands do.
//
// Thin (LBPME=1) needs both the policy (rtslib emulate_tpu and/or
// emulate_tpws) and the capability (the backstore really deallocates:
// BlockDevice.unmap). Anything else is fully provisioned: LBPME=0, LBPU=0,
// LBPWS=LBPWS10=0, the unmap fields of B0h zero, and GET LBA STATUS reports
// every block mapped.
//
// ANC_SUP (anchored LBAs, SBC-3 §4.7) follows the capability alone: a thin LU
// whose device can anchor (BlockDevice.anchor: zeros that stay allocated)
// accepts ANCHOR=1 in UNMAP and in WRITE SAME with UNMAP=1. A fully
// provisioned LU has no anchored state and keeps refusing ANCHOR.

import type { BlockDevice } from '../../backstore/types.js';
import type { ProvisioningOptions } from '../api.js';

/**
 * MAXIMUM UNMAP LBA COUNT by default: 2^20 blocks (512 MiB of 512-byte
 * blocks) per command. Hole punching is cheap at any size; this is the
 * largest explicit limit libiscsi (Inquiry.BlockLimits) accepts as sane.
 */
export const DEFAULT_MAX_UNMAP_LBA_COUNT = 0x100000;
/** UNMAP block descriptors per command by default (libiscsi exercises up to 256). */
export const DEFAULT_MAX_UNMAP_DESCRIPTORS = 256;
/** The 16-bit PARAMETER LIST LENGTH holds an 8-byte header and at most this many descriptors. */
export const MAX_UNMAP_DESCRIPTORS_IN_LIST = Math.floor((0xffff - 8) / 16);

export interface ProvisioningState {
  /** LBPME: logical block provisioning management enabled. */
  readonly thin: boolean;
  /** LBPU: UNMAP is supported. */
  readonly unmapCommand: boolean;
  /** LBPWS and LBPWS10: WRITE SAME (16)/(10) with UNMAP=1 deallocates. */
  readonly writeSameUnmap: boolean;
  /** LBPRZ: deallocated blocks read as zeros. */
  readonly readsZeroes: boolean;
  /** ANC_SUP: ANCHOR=1 anchors (BlockDevice.anchor); otherwise it is refused. */
  readonly anchorSupported: boolean;
  /** MAXIMUM UNMAP LBA COUNT (0 when UNMAP is not supported). */
  readonly maxUnmapLbaCount: number;
  /** MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT (0 when UNMAP is not supported). */
  readonly maxUnmapDescriptors: number;
  /** OPTIMAL UNMAP GRANULARITY in blocks (0 when not thin). */
  readonly granularity: number;
  /** UNMAP GRANULARITY ALIGNMENT; meaningful when `granularity` > 0 (UGAVALID). */
  readonly alignment: number;
}

const FULLY_PROVISIONED: ProvisioningState = Object.freeze({
  thin: false,
  unmapCommand: false,
  writeSameUnmap: false,
  readsZeroes: false,
  anchorSupported: false,
  maxUnmapLbaCount: 0,
  maxUnmapDescriptors: 0,
  granularity: 0,
  alignment: 0,
});

const positive = (v: number | undefined): number | undefined => (v !== undefined && Number.isSafeInteger(v) && v > 0 ? v : undefined);

export function provisioningState(device: BlockDevice, options: ProvisioningOptions | undefined): ProvisioningState {
  if (options === undefined || device.unmap === undefined || device.readOnly) return FULLY_PROVISIONED;
  const unmapCommand = options.unmap;
  const writeSameUnmap = options.writeSameUnmap;
  if (!unmapCommand && !writeSameUnmap) return FULLY_PROVISIONED;
  const granularity = positive(options.unmapGranularity) ?? positive(device.unmapGranularity) ?? 1;
  return {
    thin: true,
    unmapCommand,
    writeSameUnmap,
    readsZeroes: device.unmapZeroes === true && options.unmapZeroesData !== false,
    anchorSupported: device.anchor !== undefined,
    maxUnmapLbaCount: unmapCommand ? Math.min(0xffffffff, positive(options.maxUnmapLbaCount) ?? DEFAULT_MAX_UNMAP_LBA_COUNT) : 0,
    maxUnmapDescriptors: unmapCommand
      ? Math.min(0xffffffff, positive(options.maxUnmapBlockDescriptorCount) ?? DEFAULT_MAX_UNMAP_DESCRIPTORS)
      : 0,
    granularity: Math.min(0xffffffff, granularity),
    alignment: Math.min(0x7fffffff, positive(options.unmapGranularityAlignment) ?? 0),
  };
}

/** The provisioning of a logical unit (from its options and device). */
export function unitProvisioning(unit: { readonly device: BlockDevice; readonly options: { readonly provisioning?: ProvisioningOptions } }): ProvisioningState {
  return provisioningState(unit.device, unit.options.provisioning);
}
