// REPORT TARGET PORT GROUPS (MAINTENANCE IN / 0Ah), SPC-4 §6.37. With
// configured groups (alua.ts) each descriptor carries the group's shared
// state, so the answer is the same through every port of the target. Without
// them: implicit ALUA, one active/optimized group per iSCSI TPG, as the
// transport's TargetScope reports them.

import { dataIn } from '../cdb.js';
import { defineCommand } from '../command.js';
import { invalidCdbField, type SenseFailure } from '../sense.js';
import { groupOf, reportedGroups, SUP_AO } from '../alua.js';
import { MAINTENANCE_IN } from './report-supported-opcodes.js';

export const SA_REPORT_TARGET_PORT_GROUPS = 0x0a;

export interface TargetPortGroupInfo {
  readonly id: number;
  readonly relativePortIds: readonly number[];
}

/** One target port group descriptor's contents (SPC-4 §6.37, "Target port group descriptor format"). */
export interface TargetPortGroupDescriptor extends TargetPortGroupInfo {
  readonly preferred: boolean;
  /** ASYMMETRIC ACCESS STATE. */
  readonly state: number;
  /** T_SUP .. AO_SUP bits. */
  readonly supportedStates: number;
  readonly status: number;
}

interface RtpgParams {
  readonly extended: boolean;
  readonly allocationLength: number;
}

function parseRtpg(cdb: Buffer): RtpgParams | SenseFailure {
  const format = cdb[1] >> 5;
  if (format > 1) return invalidCdbField(1, 7);
  return { extended: format === 1, allocationLength: cdb.readUInt32BE(6) };
}

/** The descriptor of a group of the default model: PREF=1, active/optimized, AO_SUP only. */
export function defaultDescriptor(g: TargetPortGroupInfo): TargetPortGroupDescriptor {
  return { ...g, preferred: true, state: 0, supportedStates: SUP_AO, status: 0 };
}

/**
 * RTPG parameter data. `implicitTransitionSeconds` goes in the extended
 * header (FORMAT TYPE 001b), which is used when `extended`.
 */
export function targetPortGroupsData(
  groups: readonly (TargetPortGroupInfo | TargetPortGroupDescriptor)[],
  extended: boolean,
  implicitTransitionSeconds = 0,
): Buffer {
  const descriptors = groups.map((info) => {
    const g = 'state' in info ? info : defaultDescriptor(info);
    const d = Buffer.alloc(8 + 4 * g.relativePortIds.length);
    d[0] = (g.preferred ? 0x80 : 0) | (g.state & 0x0f);
    d[1] = g.supportedStates & 0xcf; // no LBD_SUP: LBA dependent is not implemented
    d.writeUInt16BE(g.id & 0xffff, 2);
    d[5] = g.status & 0xff;
    d[7] = Math.min(g.relativePortIds.length, 0xff);
    g.relativePortIds.forEach((p, i) => d.writeUInt16BE(p & 0xffff, 8 + 4 * i + 2));
    return d;
  });
  const body = Buffer.concat(descriptors);
  const header = Buffer.alloc(extended ? 8 : 4);
  header.writeUInt32BE(body.length + header.length - 4, 0);
  if (extended) {
    header[4] = 0x10; // FORMAT TYPE 001b
    header[5] = Math.min(Math.max(implicitTransitionSeconds, 0), 0xff);
  }
  return Buffer.concat([header, body]);
}

export const reportTargetPortGroupsCommand = defineCommand<RtpgParams>({
  name: 'REPORT TARGET PORT GROUPS',
  opcode: MAINTENANCE_IN,
  serviceAction: SA_REPORT_TARGET_PORT_GROUPS,
  cdbLength: 12,
  usage: [MAINTENANCE_IN, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
  modifiesMedium: false,
  allowedUnderReservation: true,
  parse: parseRtpg,
  async execute(p, ctx) {
    const alua = ctx.unit.alua;
    if (alua !== undefined) {
      const groups = reportedGroups(alua, ctx.nexus.targetName).map(({ group, relativePortIds }) => ({
        id: group.options.id,
        relativePortIds,
        preferred: group.options.preferred,
        state: group.state,
        supportedStates: group.options.supportedStates,
        status: group.status,
      }));
      // The extended header's transition time is the asking port's group's (as LIO reports it).
      const own = groupOf(alua, ctx.nexus);
      return dataIn(targetPortGroupsData(groups, p.extended, own?.options.implicitTransitionSeconds ?? 0), p.allocationLength);
    }
    const groups = ctx.scope.targetPortGroups?.(ctx.unit) ?? [
      { id: ctx.nexus.targetPortGroupId, relativePortIds: [ctx.nexus.relativeTargetPortId] },
    ];
    return dataIn(targetPortGroupsData(groups, p.extended), p.allocationLength);
  },
});
