// REPORT TARGET PORT GROUPS (MAINTENANCE IN / 0Ah), SPC-4 §6.36: implicit
// ALUA with every group active/optimized (one group per iSCSI TPG).

import { dataIn } from '../cdb.js';
import { defineCommand } from '../command.js';
import { invalidCdbField, type SenseFailure } from '../sense.js';
import { MAINTENANCE_IN } from './report-supported-opcodes.js';

export const SA_REPORT_TARGET_PORT_GROUPS = 0x0a;

export interface TargetPortGroupInfo {
  readonly id: number;
  readonly relativePortIds: readonly number[];
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

export function targetPortGroupsData(groups: readonly TargetPortGroupInfo[], extended: boolean): Buffer {
  const descriptors = groups.map((g) => {
    const d = Buffer.alloc(8 + 4 * g.relativePortIds.length);
    d[0] = 0x80; // PREF=1, ASYMMETRIC ACCESS STATE 0h active/optimized
    d[1] = 0x01; // AO_SUP
    d.writeUInt16BE(g.id & 0xffff, 2);
    d[7] = g.relativePortIds.length;
    g.relativePortIds.forEach((p, i) => d.writeUInt16BE(p & 0xffff, 8 + 4 * i + 2));
    return d;
  });
  const body = Buffer.concat(descriptors);
  const header = Buffer.alloc(extended ? 8 : 4);
  header.writeUInt32BE(body.length + header.length - 4, 0);
  if (extended) header[4] = 0x10; // FORMAT TYPE 001b; IMPLICIT TRANSITION TIME 0
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
    const groups = ctx.scope.targetPortGroups?.(ctx.unit) ?? [
      { id: ctx.nexus.targetPortGroupId, relativePortIds: [ctx.nexus.relativeTargetPortId] },
    ];
    return dataIn(targetPortGroupsData(groups, p.extended), p.allocationLength);
  },
});
