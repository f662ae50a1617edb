// Asymmetric logical unit access (SPC-4 §5.15): the target port groups of a
// logical unit, their current access state and status, shared by every I_T
// nexus of the LU so that REPORT TARGET PORT GROUPS answers the same through
// every port. LIO's model: each group has an access type (implicit and/or
// explicit), a set of supported states and a PREF bit; each target port is in
// exactly one group. tsgt's target port is an iSCSI TPG (relative target port
// identifier = TPGT).
//
// A logical unit without AluaOptions has no state here (unit.alua undefined):
// every TPG is then its own active/optimized group, implicit ALUA only.

import type { AluaGroupOptions, AluaOptions, AluaPortOptions, AluaSavedState, AluaStore, LogicalUnit, Nexus } from './api.js';
import type { LogicalUnitState } from './logical-unit.js';
import { SenseReason } from './sense.js';
import { establish } from './unit-attention.js';

/** ASYMMETRIC ACCESS STATE (SPC-4 §6.37, table "ASYMMETRIC ACCESS STATE field"). */
export enum AccessState {
  ActiveOptimized = 0x0,
  ActiveNonOptimized = 0x1,
  Standby = 0x2,
  Unavailable = 0x3,
  Offline = 0xe,
  Transitioning = 0xf,
}

/** STATUS CODE of a target port group descriptor (SPC-4 §6.37). */
export enum AccessStatus {
  None = 0x0,
  AlteredBySetTargetPortGroups = 0x1,
  AlteredImplicitly = 0x2,
}

/** Supported-state bits, byte 1 of a target port group descriptor. */
export const SUP_T = 0x80;
export const SUP_O = 0x40;
export const SUP_U = 0x08;
export const SUP_S = 0x04;
export const SUP_AN = 0x02;
export const SUP_AO = 0x01;

/** The supported-state bit a state needs, or undefined for a state tsgt does not implement (LBA dependent, reserved). */
export function supportBit(state: number): number | undefined {
  switch (state) {
    case AccessState.ActiveOptimized:
      return SUP_AO;
    case AccessState.ActiveNonOptimized:
      return SUP_AN;
    case AccessState.Standby:
      return SUP_S;
    case AccessState.Unavailable:
      return SUP_U;
    case AccessState.Offline:
      return SUP_O;
    case AccessState.Transitioning:
      return SUP_T;
    default:
      return undefined;
  }
}

/** Primary states (SPC-4 §5.15.2.4.1): the ones SET TARGET PORT GROUPS assigns to a whole group. */
export function isPrimaryState(state: number): boolean {
  return state <= AccessState.Unavailable;
}

export interface AluaGroup {
  readonly options: AluaGroupOptions;
  state: number;
  status: number;
}

export interface AluaState {
  /** By group id, ascending. */
  readonly groups: ReadonlyMap<number, AluaGroup>;
  readonly ports: readonly AluaPortOptions[];
  /**
   * Target ports in the offline secondary state (SPC-4 §5.15.2.4.6), set by
   * SET TARGET PORT GROUPS; keyed by portKey. Nothing brings a port back but
   * a restart (as in LIO, where only configfs clears it).
   */
  readonly offlinePorts: Set<string>;
  readonly store: AluaStore | undefined;
  /** Serialises AluaStore.save calls. */
  saving: Promise<void>;
}

export function portKey(targetName: string, relativeTargetPortId: number): string {
  return `${targetName}\u0000${relativeTargetPortId}`;
}

/** State for a logical unit, with any saved state of its persistent groups applied. */
export function createAluaState(options: AluaOptions | undefined): AluaState | undefined {
  if (options === undefined || options.groups.length === 0) return undefined;
  const saved = loadSaved(options.store);
  const groups = new Map<number, AluaGroup>();
  for (const g of [...options.groups].sort((a, b) => a.id - b.id)) {
    const s = g.persistent === true ? saved?.groups.find((x) => x.id === g.id) : undefined;
    const usable = s !== undefined && isPrimaryState(s.state) && (g.supportedStates & (supportBit(s.state) ?? 0)) !== 0 && s.status >= 0 && s.status <= 2;
    groups.set(g.id, { options: g, state: usable ? s.state : g.state, status: usable ? s.status : g.status });
  }
  return { groups, ports: options.ports, offlinePorts: new Set(), store: options.store, saving: Promise.resolve() };
}

function loadSaved(store: AluaStore | undefined): AluaSavedState | undefined {
  try {
    const s = store?.load();
    return s !== undefined && s !== null && s.version === 1 && Array.isArray(s.groups) ? s : undefined;
  } catch {
    return undefined;
  }
}

/** The configured port this nexus came through, if the LU is reachable through it. */
export function portOf(alua: AluaState, nexus: Nexus): AluaPortOptions | undefined {
  return alua.ports.find((p) => p.relativeTargetPortId === nexus.relativeTargetPortId && p.targetName === nexus.targetName);
}

/** The group of the port this nexus came through. */
export function groupOf(alua: AluaState, nexus: Nexus): AluaGroup | undefined {
  const port = portOf(alua, nexus);
  return port === undefined ? undefined : alua.groups.get(port.groupId);
}

/** The access state commands through this nexus meet: the port's offline state first, else its group's state. */
export function accessStateFor(alua: AluaState, nexus: Nexus): number | undefined {
  const port = portOf(alua, nexus);
  if (port === undefined) return undefined;
  if (alua.offlinePorts.has(portKey(port.targetName, port.relativeTargetPortId))) return AccessState.Offline;
  return alua.groups.get(port.groupId)?.state;
}

/** TARGET PORT GROUP designator (VPD 83h) for the port of this nexus. */
export function targetPortGroupIdFor(unit: LogicalUnitState, nexus: Nexus): number {
  const g = unit.alua === undefined ? undefined : groupOf(unit.alua, nexus);
  return g?.options.id ?? nexus.targetPortGroupId;
}

/**
 * INQUIRY TPGS field (SPC-4 §6.6.2): 01b implicit, 10b explicit, 11b both, from
 * the access type of the group of the port the command came through (as LIO
 * does); without configured groups, 01b.
 */
export function tpgsFor(unit: LogicalUnitState, nexus: Nexus): number {
  if (unit.alua === undefined) return 0b01;
  const own = groupOf(unit.alua, nexus);
  const groups = own !== undefined ? [own] : [...unit.alua.groups.values()];
  let tpgs = 0;
  for (const g of groups) tpgs |= (g.options.implicit ? 0b01 : 0) | (g.options.explicit ? 0b10 : 0);
  return tpgs;
}

/** Some group accepts SET TARGET PORT GROUPS. */
export function hasExplicitGroup(unit: LogicalUnitState): boolean {
  if (unit.alua === undefined) return false;
  for (const g of unit.alua.groups.values()) if (g.options.explicit) return true;
  return false;
}

export interface ReportedGroup {
  readonly group: AluaGroup;
  /** Relative target port identifiers of the group's ports in this target, ascending. */
  readonly relativePortIds: readonly number[];
}

/** The groups as REPORT TARGET PORT GROUPS lists them to an initiator of `targetName`. */
export function reportedGroups(alua: AluaState, targetName: string): ReportedGroup[] {
  return [...alua.groups.values()].map((group) => ({
    group,
    relativePortIds: alua.ports
      .filter((p) => p.groupId === group.options.id && p.targetName === targetName)
      .map((p) => p.relativeTargetPortId)
      .sort((a, b) => a - b),
  }));
}

export interface StateChange {
  readonly groupId: number;
  readonly state: number;
}

/**
 * Move groups to new primary states. Returns whether any state changed; if so
 * ASYMMETRIC ACCESS STATE CHANGED is established for every I_T nexus of the
 * LU except `exceptNexusId` (SPC-4 §5.15.2.3: the nexus that sent SET TARGET
 * PORT GROUPS is told by its GOOD status; after an implicit change everyone is
 * told), and the persistent groups are saved. A group already in the asked
 * state keeps its status code (nothing happened to it).
 */
export function applyStateChanges(unit: LogicalUnitState, changes: readonly StateChange[], status: AccessStatus, exceptNexusId?: string): boolean {
  const alua = unit.alua;
  if (alua === undefined) return false;
  let changed = false;
  let persist = false;
  for (const c of changes) {
    const g = alua.groups.get(c.groupId);
    if (g === undefined || g.state === c.state) continue;
    g.state = c.state;
    g.status = status;
    changed = true;
    if (g.options.persistent === true) persist = true;
  }
  if (changed) establish(unit.ua, SenseReason.AsymmetricAccessStateChanged, (id) => id !== exceptNexusId);
  if (persist) save(alua);
  return changed;
}

/** Take target ports offline (the offline secondary state). Returns whether any port changed. */
export function takePortsOffline(unit: LogicalUnitState, keys: readonly string[], exceptNexusId?: string): boolean {
  const alua = unit.alua;
  if (alua === undefined) return false;
  let changed = false;
  for (const k of keys) {
    if (alua.offlinePorts.has(k)) continue;
    alua.offlinePorts.add(k);
    changed = true;
  }
  if (changed) establish(unit.ua, SenseReason.AsymmetricAccessStateChanged, (id) => id !== exceptNexusId);
  return changed;
}

function save(alua: AluaState): void {
  const store = alua.store;
  if (store === undefined) return;
  const snapshot: AluaSavedState = {
    version: 1,
    groups: [...alua.groups.values()]
      .filter((g) => g.options.persistent === true)
      .map((g) => ({ id: g.options.id, state: g.state, status: g.status })),
  };
  // As in LIO, failing to save does not undo the transition; the store reports its own errors.
  alua.saving = alua.saving.then(() => store.save(snapshot)).catch(() => undefined);
}

/**
 * Implicit transition (the device server's own decision, e.g. failover):
 * move a group to `state` with STATUS CODE 02h and tell every I_T nexus. The
 * group must allow implicit ALUA and support the state. Returns false (and
 * changes nothing) otherwise.
 */
export function changeAccessStateImplicitly(unit: LogicalUnit, groupId: number, state: AccessState): boolean {
  const u = unit as LogicalUnitState;
  const g = u.alua?.groups.get(groupId);
  if (g === undefined || !g.options.implicit) return false;
  const bit = supportBit(state);
  if (bit === undefined || (g.options.supportedStates & bit) === 0 || state === AccessState.Offline) return false;
  applyStateChanges(u, [{ groupId, state }], AccessStatus.AlteredImplicitly);
  return true;
}

/** Wait for pending AluaStore.save calls (tests, shutdown). */
export function aluaSaved(unit: LogicalUnit): Promise<void> {
  return (unit as LogicalUnitState).alua?.saving ?? Promise.resolve();
}
