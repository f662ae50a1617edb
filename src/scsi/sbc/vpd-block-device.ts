// SBC-3 VPD pages: B0h Block Limits (§6.5.3), B1h Block Device
// Characteristics (§6.5.2), B2h Logical Block Provisioning (§6.5.4).

import type { LogicalUnitState } from '../logical-unit.js';

export function vpdBlockLimits(unit: LogicalUnitState): Buffer {
  const b = Buffer.alloc(64);
  b[1] = 0xb0;
  b.writeUInt16BE(0x3c, 2);
  // byte 5: MAXIMUM COMPARE AND WRITE LENGTH = 0 (not supported yet)
  b.writeUInt16BE(1, 6); // OPTIMAL TRANSFER LENGTH GRANULARITY
  b.writeUInt32BE(unit.maxTransferBlocks, 8); // MAXIMUM TRANSFER LENGTH
  b.writeUInt32BE(unit.maxTransferBlocks, 12); // OPTIMAL TRANSFER LENGTH
  // MAXIMUM PREFETCH LENGTH, unmap fields, WRITE SAME length: 0 until supported.
  return b;
}

export function vpdBlockDeviceCharacteristics(): Buffer {
  const b = Buffer.alloc(64);
  b[1] = 0xb1;
  b.writeUInt16BE(0x3c, 2);
  b.writeUInt16BE(0x0001, 4); // MEDIUM ROTATION RATE: non-rotating medium
  // byte 7 NOMINAL FORM FACTOR 0: not reported
  return b;
}

export function vpdLogicalBlockProvisioning(): Buffer {
  const b = Buffer.alloc(8);
  b[1] = 0xb2;
  b.writeUInt16BE(4, 2);
  // THRESHOLD EXPONENT 0, LBPU/LBPWS/LBPWS10 0, PROVISIONING TYPE 0 (fully provisioned)
  return b;
}
