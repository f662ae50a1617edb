// REPORT LUNS (SPC-4 §6.33). Served for any LUN, mapped or not: SPC-4 requires
// it of LUN 0 and of the REPORT LUNS well-known LU, and answering it on every
// LUN is what initiators scanning a target expect.

import type { LunView } from '../api.js';
import { dataIn } from '../cdb.js';
import { defineCommand } from '../command.js';
import { encodeLun } from '../lun-address.js';
import { invalidCdbField, SenseReason, type SenseFailure } from '../sense.js';
import { clearReason } from '../unit-attention.js';

export const REPORT_LUNS = 0xa0;

export interface ReportLunsParams {
  readonly selectReport: number;
  readonly allocationLength: number;
}

export function parseReportLuns(cdb: Buffer): ReportLunsParams | SenseFailure {
  const selectReport = cdb[2];
  // 00h all LUs, 01h well-known LUs only, 02h both (SPC-4); 10h-12h administrative LU forms (SPC-5).
  if (![0x00, 0x01, 0x02, 0x10, 0x11, 0x12].includes(selectReport)) return invalidCdbField(2, 7);
  const allocationLength = cdb.readUInt32BE(6);
  if (allocationLength < 16) return invalidCdbField(6, 7);
  return { selectReport, allocationLength };
}

/** We have no well-known or administrative LUs: only selects 00h and 02h list anything. */
export function reportLuns(params: ReportLunsParams, view: LunView): ReturnType<typeof dataIn> {
  const luns = params.selectReport === 0x00 || params.selectReport === 0x02 ? view.list().map((m) => m.lun) : [];
  const unique = [...new Set(luns)].sort((a, b) => a - b);
  const b = Buffer.alloc(8 + 8 * unique.length);
  b.writeUInt32BE(8 * unique.length, 0);
  unique.forEach((lun, i) => encodeLun(lun).copy(b, 8 + 8 * i));
  return dataIn(b, params.allocationLength);
}

export const reportLunsCommand = defineCommand<ReportLunsParams>({
  name: 'REPORT LUNS',
  opcode: REPORT_LUNS,
  cdbLength: 12,
  usage: [REPORT_LUNS, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
  modifiesMedium: false,
  allowedUnderReservation: true,
  bypassesUnitAttention: true,
  parse: parseReportLuns,
  async execute(p, ctx) {
    clearReason(ctx.unit.ua, ctx.nexus.id, SenseReason.ReportedLunsDataChanged);
    return reportLuns(p, ctx.view);
  },
});
