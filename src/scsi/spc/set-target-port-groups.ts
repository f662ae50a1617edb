// SET TARGET PORT GROUPS (MAINTENANCE OUT / 0Ah), SPC-4 §6.42: explicit
// ALUA. Offered only by an LU with a group whose alua_access_type includes
// explicit; refused with INVALID COMMAND OPERATION CODE when the group of the
// port it came through does not allow explicit transitions (LIO does the
// same). The whole parameter list is checked before any state changes.

import { good } from '../cdb.js';
import { defineCommand, type CommandContext } from '../command.js';
import { failure, invalidCdbField, invalidParameterField, isSenseFailure, SenseReason, type SenseFailure } from '../sense.js';
import {
  AccessState,
  AccessStatus,
  applyStateChanges,
  groupOf,
  hasExplicitGroup,
  isPrimaryState,
  portKey,
  supportBit,
  takePortsOffline,
  type AluaState,
  type StateChange,
} from '../alua.js';

export const MAINTENANCE_OUT = 0xa4;
export const SA_SET_TARGET_PORT_GROUPS = 0x0a;

/** Descriptors are 4 bytes; more than this many bytes cannot name distinct groups and ports usefully. */
const MAX_PARAMETER_LIST = 4 + 4 * 16384;

interface StpgParams {
  readonly parameterListLength: number;
}

function parseStpg(cdb: Buffer): StpgParams | SenseFailure {
  const parameterListLength = cdb.readUInt32BE(6);
  if (parameterListLength > MAX_PARAMETER_LIST) return invalidCdbField(6, 7);
  return { parameterListLength };
}

export interface StpgRequest {
  readonly changes: readonly StateChange[];
  /** portKey()s of target ports to take offline. */
  readonly offline: readonly string[];
}

/**
 * Check a parameter list against the LU's groups, for an initiator of
 * `targetName`. A primary state (AO, AN, standby, unavailable) names a target
 * port group; offline (a secondary state) names a relative target port
 * identifier. Anything else (transitioning, LBA dependent, reserved), an
 * unknown group or port, a state the group does not support, a group that
 * does not allow explicit transitions, or a group named twice is INVALID
 * FIELD IN PARAMETER LIST (SPC-4 §6.42).
 */
export function parseStpgParameterList(list: Buffer, alua: AluaState, targetName: string): StpgRequest | SenseFailure {
  if (list.length < 4 || (list.length - 4) % 4 !== 0) return failure(SenseReason.ParameterListLengthError);
  const changes: StateChange[] = [];
  const offline: string[] = [];
  for (let off = 4; off < list.length; off += 4) {
    const state = list[off] & 0x0f;
    const id = list.readUInt16BE(off + 2);
    const bit = supportBit(state);
    if (isPrimaryState(state)) {
      const g = alua.groups.get(id);
      if (g === undefined || !g.options.explicit || changes.some((c) => c.groupId === id)) return invalidParameterField(off + 2, 7);
      if (bit === undefined || (g.options.supportedStates & bit) === 0) return invalidParameterField(off, 3);
      changes.push({ groupId: id, state });
    } else if (state === AccessState.Offline) {
      const port = alua.ports.find((p) => p.targetName === targetName && p.relativeTargetPortId === id);
      const g = port === undefined ? undefined : alua.groups.get(port.groupId);
      if (port === undefined || g === undefined || !g.options.explicit) return invalidParameterField(off + 2, 7);
      if ((g.options.supportedStates & (bit ?? 0)) === 0) return invalidParameterField(off, 3);
      offline.push(portKey(port.targetName, port.relativeTargetPortId));
    } else {
      // Transitioning is the device server's to enter (SPC-4 §6.42); LBA dependent is not implemented.
      return invalidParameterField(off, 3);
    }
  }
  return { changes, offline };
}

async function executeStpg(p: StpgParams, ctx: CommandContext) {
  const alua = ctx.unit.alua;
  const own = alua === undefined ? undefined : groupOf(alua, ctx.nexus);
  if (alua === undefined || own === undefined || !own.options.explicit) return failure(SenseReason.InvalidOpcode);
  // SPC-4 §6.42: a PARAMETER LIST LENGTH of zero is not an error; nothing changes.
  if (p.parameterListLength === 0) return good();
  const list = Buffer.concat(ctx.dataOut as Buffer[]).subarray(0, ctx.dataOutLength);
  if (list.length < p.parameterListLength) return failure(SenseReason.ParameterListLengthError);
  const request = parseStpgParameterList(list, alua, ctx.nexus.targetName);
  if (isSenseFailure(request)) return request;
  applyStateChanges(ctx.unit, request.changes, AccessStatus.AlteredBySetTargetPortGroups, ctx.nexus.id);
  takePortsOffline(ctx.unit, request.offline, ctx.nexus.id);
  // alua_write_metadata: the new states are on disk before GOOD (a failed save does not undo them, as in LIO).
  await alua.saving;
  return good();
}

export const setTargetPortGroupsCommand = defineCommand<StpgParams>({
  name: 'SET TARGET PORT GROUPS',
  opcode: MAINTENANCE_OUT,
  serviceAction: SA_SET_TARGET_PORT_GROUPS,
  cdbLength: 12,
  usage: [MAINTENANCE_OUT, 0x1f, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
  modifiesMedium: false,
  allowedUnderReservation: false,
  available: hasExplicitGroup,
  parse: parseStpg,
  dataOutLength: (p) => p.parameterListLength,
  execute: executeStpg,
});
