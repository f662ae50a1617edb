// What a target port asymmetric access state lets through (SPC-4 r37
// §5.15.2.4 "Target port asymmetric access states"). Active/optimized and
// active/non-optimized execute everything; the others admit a short list and
// terminate the rest with CHECK CONDITION, NOT READY, LOGICAL UNIT NOT
// ACCESSIBLE and the state's ASCQ. LIO's target_alua_state_check applies the
// same lists.

import type { Nexus } from './api.js';
import { accessStateFor, AccessState } from './alua.js';
import type { LogicalUnitState } from './logical-unit.js';
import { buildSenseFromCode, SenseKey, type SenseCode } from './sense.js';

const MAINTENANCE_IN = 0xa3;
const MAINTENANCE_OUT = 0xa4;
const SA_TARGET_PORT_GROUPS = 0x0a;
const SERVICE_ACTION_IN_16 = 0x9e;
const SA_READ_CAPACITY_16 = 0x10;
const READ_BUFFER_10 = 0x3c;
const WRITE_BUFFER = 0x3b;
/** READ/WRITE BUFFER echo buffer mode (SPC-4 §6.17.9 / §6.43.10). */
const ECHO_BUFFER_MODE = 0x0a;

/** ASC 04h LOGICAL UNIT NOT ACCESSIBLE / NOT READY, per state (SPC-4 Annex D). */
const NOT_ACCESSIBLE: Readonly<Record<number, SenseCode>> = {
  [AccessState.Standby]: { key: SenseKey.NotReady, asc: 0x04, ascq: 0x0b }, // TARGET PORT IN STANDBY STATE
  [AccessState.Unavailable]: { key: SenseKey.NotReady, asc: 0x04, ascq: 0x0c }, // TARGET PORT IN UNAVAILABLE STATE
  [AccessState.Transitioning]: { key: SenseKey.NotReady, asc: 0x04, ascq: 0x0a }, // ASYMMETRIC ACCESS STATE TRANSITION
  [AccessState.Offline]: { key: SenseKey.NotReady, asc: 0x04, ascq: 0x12 }, // LOGICAL UNIT NOT READY, OFFLINE
};

function isTargetPortGroups(cdb: Buffer, opcode: number): boolean {
  return cdb[0] === opcode && cdb.length > 1 && (cdb[1] & 0x1f) === SA_TARGET_PORT_GROUPS;
}

function isEchoBuffer(cdb: Buffer): boolean {
  return (cdb[0] === READ_BUFFER_10 || cdb[0] === WRITE_BUFFER) && cdb.length > 1 && (cdb[1] & 0x1f) === ECHO_BUFFER_MODE;
}

/**
 * Commands every non-active state admits: INQUIRY, REPORT LUNS, REPORT TARGET
 * PORT GROUPS, REQUEST SENSE and the echo buffer modes of READ/WRITE BUFFER
 * (the common core of the standby, unavailable and transitioning lists).
 */
function alwaysAllowed(cdb: Buffer): boolean {
  switch (cdb[0]) {
    case 0x12: // INQUIRY
    case 0xa0: // REPORT LUNS
    case 0x03: // REQUEST SENSE
      return true;
    default:
      return isTargetPortGroups(cdb, MAINTENANCE_IN) || isEchoBuffer(cdb);
  }
}

/**
 * SPC-4 §5.15.2.4.4 (standby): also LOG SELECT/SENSE, MODE SELECT/SENSE,
 * RECEIVE DIAGNOSTIC RESULTS, SEND DIAGNOSTIC, SET TARGET PORT GROUPS,
 * PERSISTENT RESERVE IN/OUT. "The device server may support other commands":
 * READ CAPACITY (10)/(16) too, as LIO does, because hosts size a standby path
 * with it before they know it is one (Linux sd at probe).
 */
function standbyAllows(cdb: Buffer): boolean {
  switch (cdb[0]) {
    case 0x4c: // LOG SELECT
    case 0x4d: // LOG SENSE
    case 0x15: // MODE SELECT (6)
    case 0x55: // MODE SELECT (10)
    case 0x1a: // MODE SENSE (6)
    case 0x5a: // MODE SENSE (10)
    case 0x1c: // RECEIVE DIAGNOSTIC RESULTS
    case 0x1d: // SEND DIAGNOSTIC
    case 0x5e: // PERSISTENT RESERVE IN
    case 0x5f: // PERSISTENT RESERVE OUT
    case 0x25: // READ CAPACITY (10)
      return true;
    case SERVICE_ACTION_IN_16:
      return cdb.length > 1 && (cdb[1] & 0x1f) === SA_READ_CAPACITY_16;
    default:
      return alwaysAllowed(cdb) || isTargetPortGroups(cdb, MAINTENANCE_OUT);
  }
}

/** Whether a command may run in `state`; exported for tests and documentation. */
export function allowedInState(state: number, cdb: Buffer): boolean {
  switch (state) {
    case AccessState.ActiveOptimized:
    case AccessState.ActiveNonOptimized:
      return true;
    case AccessState.Standby:
      return standbyAllows(cdb);
    case AccessState.Unavailable:
      // SPC-4 §5.15.2.4.5: the common core plus SET TARGET PORT GROUPS (a way out).
      return alwaysAllowed(cdb) || isTargetPortGroups(cdb, MAINTENANCE_OUT);
    case AccessState.Transitioning:
      // SPC-4 §5.15.2.5: only the common core while the transition lasts.
      return alwaysAllowed(cdb);
    default:
      // Offline (SPC-4 §5.15.2.4.6): the port cannot process commands; LIO refuses all of them.
      return false;
  }
}

/**
 * The sense data refusing `cdb` through this nexus' target port, or undefined
 * when the access state admits it (or the LU has no configured groups).
 */
export function aluaRefusal(unit: LogicalUnitState, nexus: Nexus, cdb: Buffer, descriptor: boolean): Buffer | undefined {
  if (unit.alua === undefined) return undefined;
  const state = accessStateFor(unit.alua, nexus);
  if (state === undefined || allowedInState(state, cdb)) return undefined;
  const code = NOT_ACCESSIBLE[state] ?? NOT_ACCESSIBLE[AccessState.Unavailable];
  return buildSenseFromCode(code, { descriptor });
}
