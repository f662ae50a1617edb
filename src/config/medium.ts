// tsgt's storage-object attributes for the medium (model.ts StorageObjectCommon):
// `removable`, `sanitize_mib_per_sec`, `physical_block_size` and
// `encryption`, read from a validated config.

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

/**
 * attributes.physical_block_size in bytes (a validated power-of-two multiple
 * of block_size); undefined when absent: the LU then uses what the device
 * reports, else one logical block per physical block.
 */
export function storagePhysicalBlockSize(so: Pick<StorageObjectConfig, 'attributes'>): number | undefined {
  const v = so.attributes?.physical_block_size;
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined;
}

/** attributes.encryption = 1: user data is stored AES-256-XTS encrypted (backstore/encrypted.ts). */
export function storageEncrypted(so: Pick<StorageObjectConfig, 'attributes'>): boolean {
  return so.attributes?.encryption === 1;
}
