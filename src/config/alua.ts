// ALUA target port groups from saveconfig.json, with LIO's semantics as
// targetcli shows them: /backstores/<plugin>/<so>/alua/<group> carries
// tg_pt_gp_id, alua_access_type (0 none, 1 implicit, 2 explicit, 3 both),
// alua_access_state (0 active/optimized, 1 active/non-optimized, 2 standby,
// 3 unavailable, 14 offline, 15 transitioning), alua_access_status,
// alua_support_* and preferred; each TPG LUN joins one group by
// `alua_tg_pt_gp_name` (default `default_tg_pt_gp`, which LIO creates for
// every device with id 0).
//
// tsgt applies them only when a storage object has a group besides
// default_tg_pt_gp; otherwise every TPG stays its own active/optimized group
// (implicit ALUA), as before these keys were read.

import type { AluaTpgConfig, SaveConfig, StorageObjectConfig } from './model.js';
import { type Checker, type JsonObject, fail, isObject, join, optInt } from './check.js';
import { parseStorageObjectRef } from './resolve.js';

export const DEFAULT_TG_PT_GP = 'default_tg_pt_gp';

/** Access states tsgt implements (LBA dependent, 4, is not). */
const STATES: Readonly<Record<number, { name: string; support: keyof AluaTpgConfig; bit: number }>> = {
  0: { name: 'active/optimized', support: 'alua_support_active_optimized', bit: 0x01 },
  1: { name: 'active/non-optimized', support: 'alua_support_active_nonoptimized', bit: 0x02 },
  2: { name: 'standby', support: 'alua_support_standby', bit: 0x04 },
  3: { name: 'unavailable', support: 'alua_support_unavailable', bit: 0x08 },
  14: { name: 'offline', support: 'alua_support_offline', bit: 0x40 },
  15: { name: 'transitioning', support: 'alua_support_transitioning', bit: 0x80 },
};

/** LIO's limits (target_core_alua.h) and defaults (core_alua_allocate_tg_pt_gp). */
const INT_KEYS: readonly (readonly [key: string, max: number])[] = [
  ['alua_access_type', 3],
  ['alua_access_status', 2],
  ['alua_write_metadata', 1],
  ['preferred', 1],
  ['nonop_delay_msecs', 10000],
  ['trans_delay_msecs', 30000],
  ['implicit_trans_secs', 255],
  ['alua_support_active_optimized', 1],
  ['alua_support_active_nonoptimized', 1],
  ['alua_support_standby', 1],
  ['alua_support_unavailable', 1],
  ['alua_support_offline', 1],
  ['alua_support_transitioning', 1],
];

/** A supported-state flag: LIO enables every state by default. */
function supported(g: AluaTpgConfig, key: keyof AluaTpgConfig): boolean {
  return g[key] === undefined || g[key] === 1;
}

/**
 * The rules for one group beyond the name/id shape storage-objects.ts checks:
 * integer attributes in LIO's ranges, an access state tsgt implements, and
 * one whose alua_support_* flag is set.
 */
export function checkAluaGroup(c: Checker, path: string, g: JsonObject): void {
  if (typeof g.name === 'string' && /[/\s\0]/.test(g.name)) {
    fail(c, join(path, 'name'), 'alua-group-name', `group name '${g.name}' must not contain '/' or white space`);
  }
  for (const [key, max] of INT_KEYS) optInt(c, join(path, key), g[key], 0, max);
  const state = g.alua_access_state;
  if (state === undefined) return;
  if (typeof state !== 'number' || !Number.isSafeInteger(state)) {
    fail(c, join(path, 'alua_access_state'), 'type', `must be an integer, not ${JSON.stringify(state)}`);
    return;
  }
  const s = STATES[state];
  if (s === undefined) {
    fail(c, join(path, 'alua_access_state'), 'alua-state', `${state} is not an access state tsgt implements (0, 1, 2, 3, 14 or 15)`);
    return;
  }
  if (!supported(g as AluaTpgConfig, s.support)) {
    fail(c, join(path, 'alua_access_state'), 'alua-state-unsupported', `the group is ${s.name} (${state}) but ${String(s.support)} is 0`);
  }
}

/**
 * Group names and ids are unique within a storage object (over the raw list,
 * so paths match the input); default_tg_pt_gp, even unlisted, holds id 0.
 */
export function checkAluaGroupSet(c: Checker, path: string, v: unknown): void {
  const entries = objects(v).filter(([, g]) => typeof g.name === 'string' && typeof g.tg_pt_gp_id === 'number');
  const names = new Set<string>();
  const ids = new Map<number, string>();
  if (!entries.some(([, g]) => g.name === DEFAULT_TG_PT_GP)) ids.set(0, DEFAULT_TG_PT_GP);
  for (const [i, g] of entries) {
    const p = join(path, i);
    const name = g.name as string;
    const id = g.tg_pt_gp_id as number;
    if (names.has(name)) fail(c, join(p, 'name'), 'duplicate-alua-group', `group '${name}' is defined twice for this storage object`);
    names.add(name);
    const prev = ids.get(id);
    if (prev !== undefined && prev !== name) {
      fail(c, join(p, 'tg_pt_gp_id'), 'duplicate-alua-group-id', `tg_pt_gp_id ${id} is already used by group '${prev}'`);
    } else {
      ids.set(id, name);
    }
  }
}

function groupNames(so: StorageObjectConfig): Set<string> {
  return new Set([DEFAULT_TG_PT_GP, ...(so.alua_tpgs ?? []).map((g) => g.name)]);
}

function findSo(storageObjects: readonly StorageObjectConfig[], ref: string): StorageObjectConfig | undefined {
  const r = parseStorageObjectRef(ref);
  return r === undefined ? undefined : storageObjects.find((so) => so.plugin === r.plugin && so.name === r.name);
}

function objects(v: unknown): [number, JsonObject][] {
  return Array.isArray(v) ? v.flatMap((x, i): [number, JsonObject][] => (isObject(x) ? [[i, x]] : [])) : [];
}

/**
 * LUN rules, over the raw input so that paths name the entries as written:
 * a LUN's alua_tg_pt_gp_name must be a group of its storage object, and the
 * LUNs of one TPG for one storage object (one target port) must name the
 * same group. Entries with other errors are left to their own checks.
 */
export function checkLunAluaGroups(c: Checker, root: JsonObject, storageObjects: readonly StorageObjectConfig[]): void {
  for (const [ti, t] of objects(root.targets)) {
    for (const [gi, tpg] of objects(t.tpgs)) {
      const chosen = new Map<StorageObjectConfig, string>();
      for (const [li, lun] of objects(tpg.luns)) {
        const gp = lun.alua_tg_pt_gp_name || DEFAULT_TG_PT_GP; // null / absent: LIO's default group
        if (typeof gp !== 'string' || typeof lun.storage_object !== 'string') continue;
        const so = findSo(storageObjects, lun.storage_object);
        if (so === undefined) continue;
        const path = `targets[${ti}].tpgs[${gi}].luns[${li}].alua_tg_pt_gp_name`;
        if (!groupNames(so).has(gp)) {
          fail(c, path, 'alua-group-missing', `storage object ${so.plugin}/${so.name} has no ALUA group '${gp}'`);
          continue;
        }
        const prev = chosen.get(so);
        if (prev !== undefined && prev !== gp) {
          fail(c, path, 'alua-group-conflict', `another LUN of this TPG puts ${so.plugin}/${so.name} in group '${prev}'; a target port is in one group`);
        }
        chosen.set(so, gp);
      }
    }
  }
}

/** One group as the SCSI core takes it (AluaGroupOptions of src/scsi/api.ts). */
export interface ResolvedAluaGroup {
  id: number;
  name: string;
  state: number;
  status: number;
  implicit: boolean;
  explicit: boolean;
  supportedStates: number;
  preferred: boolean;
  implicitTransitionSeconds: number;
  persistent: boolean;
}

export interface ResolvedAluaPort {
  targetName: string;
  relativeTargetPortId: number;
  groupId: number;
}

export interface ResolvedAlua {
  groups: ResolvedAluaGroup[];
  ports: ResolvedAluaPort[];
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : fallback;
}

/** A group with LIO's defaults for whatever the config leaves out. */
export function resolveAluaGroup(g: AluaTpgConfig): ResolvedAluaGroup {
  const type = num(g.alua_access_type, 3);
  let supportedStates = 0;
  for (const s of Object.values(STATES)) if (supported(g, s.support)) supportedStates |= s.bit;
  return {
    id: g.tg_pt_gp_id,
    name: g.name,
    state: num(g.alua_access_state, 0),
    status: num(g.alua_access_status, 0),
    implicit: (type & 1) !== 0,
    explicit: (type & 2) !== 0,
    supportedStates,
    preferred: g.preferred === 1,
    implicitTransitionSeconds: num(g.implicit_trans_secs, 0),
    persistent: g.alua_write_metadata === 1,
  };
}

/**
 * The target port groups of a storage object in a validated config, or
 * undefined when it has no group besides default_tg_pt_gp (then every TPG is
 * its own active/optimized group). Ports are the enabled TPGs exporting it,
 * relative target port identifier = TPG tag, in the group their LUN names.
 * Listed: every configured group, and default_tg_pt_gp (LIO's defaults)
 * when a port is in it without it being configured.
 */
export function storageObjectAlua(config: SaveConfig, so: StorageObjectConfig): ResolvedAlua | undefined {
  const configured = so.alua_tpgs ?? [];
  if (!configured.some((g) => g.name !== DEFAULT_TG_PT_GP)) return undefined;
  const byName = new Map(configured.map((g) => [g.name, resolveAluaGroup(g)]));
  const ports: ResolvedAluaPort[] = [];
  for (const target of config.targets) {
    for (const tpg of target.tpgs) {
      if (!tpg.enable) continue;
      const lun = tpg.luns.find((l) => findSo([so], l.storage_object) !== undefined);
      if (lun === undefined) continue;
      const name = lun.alua_tg_pt_gp_name || DEFAULT_TG_PT_GP;
      let group = byName.get(name);
      if (group === undefined && name === DEFAULT_TG_PT_GP) {
        group = resolveAluaGroup({ name, tg_pt_gp_id: 0 });
        byName.set(name, group);
      }
      if (group === undefined) continue; // validateConfig refuses this
      ports.push({ targetName: target.wwn, relativeTargetPortId: tpg.tag, groupId: group.id });
    }
  }
  return { groups: [...byName.values()].sort((a, b) => a.id - b.id), ports };
}
