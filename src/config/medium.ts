// tsgt's storage-object attributes for the medium (model.ts StorageObjectCommon):
// `removable` and `sanitize_mib_per_sec`, read from a validated config.

import type { StorageObjectConfig } from './model.js';

const MIB = 1024 * 1024;

/** attributes.removable = 1: the LU presents a removable medium (INQUIRY RMB=1). */
export function storageRemovable(so: Pick<StorageObjectConfig, 'attributes'>): boolean {
  return so.attributes?.removable === 1;
}

/** attributes.sanitize_mib_per_sec in bytes per second; undefined when absent or 0 (no limit). */
export function storageSanitizeBytesPerSecond(so: Pick<StorageObjectConfig, 'attributes'>): number | undefined {
  const v = so.attributes?.sanitize_mib_per_sec;
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v * MIB : undefined;
}
