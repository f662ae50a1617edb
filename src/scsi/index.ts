// Public surface of the SCSI core for transports and the runtime.

export * from './api.js';
export { createLogicalUnit, MAX_TRANSFER_BYTES } from './logical-unit.js';
export { openNexus, lunInventoryChanged, capacityChanged, type TargetScope, type OpenNexusOptions } from './nexus.js';
export type { TargetPortGroupInfo } from './spc/report-target-port-groups.js';
export { decodeLun, encodeLun } from './lun-address.js';
export { buildSense, parseSense, SenseKey, SenseReason, type ParsedSense } from './sense.js';
