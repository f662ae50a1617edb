// RESERVATION CONFLICT under a persistent reservation (SPC-4 §5.9.1,
// Table 49 for SPC commands; SBC-3 §4.17 Table 13 for block commands): the one
// place that says how each command behaves for an I_T nexus that does not hold
// the reservation. The dispatcher consults it; PERSISTENT RESERVE OUT and the
// SPC-2 RESERVE/RELEASE commands apply their own rules when they execute.

import type { Nexus } from '../api.js';
import type { AnyCommandSpec } from '../command.js';
import { isAllRegistrants, isRegistrantsOnly, isWriteExclusive, isHolder, registrationOf, type PersistentReservations } from './state.js';

/**
 * How a command fares for a non-holder:
 * - 'allowed': never conflicts (INQUIRY, REPORT LUNS, PERSISTENT RESERVE IN, ...);
 * - 'read': conflicts under Exclusive Access types, allowed under Write Exclusive ones;
 * - 'write': conflicts under every type.
 * Registrants of a registrants-only or all-registrants reservation are never in conflict.
 */
export type PrAccess = 'allowed' | 'read' | 'write';

type Rule = PrAccess | ((cdb: Buffer) => PrAccess);

const MAINTENANCE_IN = 0xa3;
const SERVICE_ACTION_IN_16 = 0x9e;

/** By operation code; multiplexed opcodes map their service actions (byte 1 bits 4..0). */
const BY_OPCODE: ReadonlyMap<number, Rule> = new Map<number, Rule>([
  [0x00, 'allowed'], // TEST UNIT READY
  [0x03, 'allowed'], // REQUEST SENSE
  [0x04, 'write'], // FORMAT UNIT
  [0x07, 'write'], // REASSIGN BLOCKS
  [0x08, 'read'], // READ(6)
  [0x0a, 'write'], // WRITE(6)
  [0x12, 'allowed'], // INQUIRY
  [0x15, 'write'], // MODE SELECT(6)
  [0x16, 'allowed'], // RESERVE(6): SPC-4 §5.9.3 compatible reservation handling, in the command
  [0x17, 'allowed'], // RELEASE(6): idem
  [0x1a, 'read'], // MODE SENSE(6)
  // START STOP UNIT: allowed with START=1 and POWER CONDITION=0 (SBC-3 Table 13).
  [0x1b, (cdb) => ((cdb[4] & 0x01) === 1 && cdb[4] >> 4 === 0 ? 'allowed' : 'write')],
  [0x1c, 'read'], // RECEIVE DIAGNOSTIC RESULTS
  [0x1d, 'write'], // SEND DIAGNOSTIC
  // PREVENT ALLOW MEDIUM REMOVAL: allowed with PREVENT=0 (SPC-4 Table 49).
  [0x1e, (cdb) => ((cdb[4] & 0x03) === 0 ? 'allowed' : 'write')],
  [0x25, 'allowed'], // READ CAPACITY(10)
  [0x28, 'read'], // READ(10)
  [0x2a, 'write'], // WRITE(10)
  [0x2e, 'write'], // WRITE AND VERIFY(10)
  [0x2f, 'read'], // VERIFY(10)
  [0x34, 'read'], // PRE-FETCH(10)
  [0x35, 'write'], // SYNCHRONIZE CACHE(10)
  [0x37, 'read'], // READ DEFECT DATA(10)
  [0x3b, 'write'], // WRITE BUFFER
  [0x3c, 'read'], // READ BUFFER
  [0x41, 'write'], // WRITE SAME(10)
  [0x42, 'write'], // UNMAP
  [0x4c, 'write'], // LOG SELECT
  [0x4d, 'allowed'], // LOG SENSE
  [0x55, 'write'], // MODE SELECT(10)
  [0x56, 'allowed'], // RESERVE(10)
  [0x57, 'allowed'], // RELEASE(10)
  [0x5a, 'read'], // MODE SENSE(10)
  [0x5e, 'allowed'], // PERSISTENT RESERVE IN
  [0x5f, 'allowed'], // PERSISTENT RESERVE OUT: per service action, in the command
  [0x83, 'write'], // EXTENDED COPY
  [0x84, 'read'], // RECEIVE COPY RESULTS
  [0x88, 'read'], // READ(16)
  [0x89, 'write'], // COMPARE AND WRITE
  [0x8a, 'write'], // WRITE(16)
  [0x8b, 'write'], // ORWRITE(16)
  [0x8e, 'write'], // WRITE AND VERIFY(16)
  [0x8f, 'read'], // VERIFY(16)
  [0x90, 'read'], // PRE-FETCH(16)
  [0x91, 'write'], // SYNCHRONIZE CACHE(16)
  [0x93, 'write'], // WRITE SAME(16)
  // SERVICE ACTION IN(16): READ CAPACITY(16) is allowed (SBC-3 Table 13), GET LBA STATUS reads.
  [SERVICE_ACTION_IN_16, (cdb) => ((cdb[1] & 0x1f) === 0x10 ? 'allowed' : 'read')],
  [0xa0, 'allowed'], // REPORT LUNS
  [0xa2, 'read'], // SECURITY PROTOCOL IN
  [MAINTENANCE_IN, (cdb) => maintenanceIn(cdb[1] & 0x1f)],
  [0xa4, 'write'], // MAINTENANCE OUT
  [0xa8, 'read'], // READ(12)
  [0xaa, 'write'], // WRITE(12)
  [0xae, 'write'], // WRITE AND VERIFY(12)
  [0xaf, 'read'], // VERIFY(12)
  [0xb5, 'write'], // SECURITY PROTOCOL OUT
  [0xb7, 'read'], // READ DEFECT DATA(12)
]);

function maintenanceIn(serviceAction: number): PrAccess {
  switch (serviceAction) {
    case 0x05: // REPORT IDENTIFYING INFORMATION
    case 0x0a: // REPORT TARGET PORT GROUPS
    case 0x0b: // REPORT ALIASES
    case 0x0e: // REPORT PRIORITY
    case 0x0f: // REPORT TIMESTAMP
      return 'allowed';
    default: // REPORT SUPPORTED OPERATION CODES / TASK MANAGEMENT FUNCTIONS, MANAGEMENT PROTOCOL IN
      return 'read';
  }
}

/** Access class of a command; commands missing from the table are classed by whether they modify the medium. */
export function prAccess(spec: AnyCommandSpec, cdb: Buffer): PrAccess {
  const rule = BY_OPCODE.get(spec.opcode);
  if (rule === undefined) return spec.modifiesMedium ? 'write' : 'read';
  return typeof rule === 'function' ? rule(cdb) : rule;
}

/** Whether `nexus` gets RESERVATION CONFLICT for a command of class `access` under the current reservation. */
export function reservationConflict(pr: PersistentReservations, nexus: Nexus, access: PrAccess): boolean {
  const res = pr.reservation;
  if (res === undefined || access === 'allowed') return false;
  const reg = registrationOf(pr, nexus);
  if (isHolder(pr, reg)) return false;
  if (reg !== undefined && (isRegistrantsOnly(res.type) || isAllRegistrants(res.type))) return false;
  return access === 'write' || !isWriteExclusive(res.type);
}
