// REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (MAINTENANCE IN / 0Dh, SPC-4):
// the task management functions task-management.ts carries out, with
// the extended parameter data (REPD=1) of SPC-5 (no TMF timeouts reported).

import type { TaskManagementFunction } from '../api.js';
import { dataIn } from '../cdb.js';
import { defineCommand } from '../command.js';
import { invalidCdbField, type SenseFailure } from '../sense.js';
import { MAINTENANCE_IN } from './report-supported-opcodes.js';

export const SA_REPORT_SUPPORTED_TMF = 0x0d;

/**
 * The functions taskManagement() performs (it answers FUNCTION NOT SUPPORTED
 * for CLEAR ACA: NACA is not supported). test/scsi/rstmf.test.ts checks this
 * list against taskManagement() itself.
 */
export const SUPPORTED_TASK_MANAGEMENT_FUNCTIONS: readonly TaskManagementFunction[] = [
  'abort-task',
  'abort-task-set',
  'clear-task-set',
  'logical-unit-reset',
  'target-warm-reset',
  'target-cold-reset',
];

/**
 * Byte 0 bits: ATS, ATSS, CACAS, CTSS, LURS, QTS, TRS. The
 * iSCSI TARGET WARM RESET / TARGET COLD RESET functions are SAM's target reset
 * (TRS). QUERY TASK, QUERY TASK SET, QUERY ASYNCHRONOUS EVENT and I_T NEXUS
 * RESET are not transport functions tsgt has, so their bits stay zero.
 */
const BIT: Readonly<Record<TaskManagementFunction, number>> = {
  'abort-task': 0x80,
  'abort-task-set': 0x40,
  'clear-aca': 0x20,
  'clear-task-set': 0x10,
  'logical-unit-reset': 0x08,
  'target-warm-reset': 0x02,
  'target-cold-reset': 0x02,
};

interface RstmfParams {
  readonly repd: boolean;
  readonly allocationLength: number;
}

function parseRstmf(cdb: Buffer): RstmfParams | SenseFailure {
  const allocationLength = cdb.readUInt32BE(6);
  // SPC-4: an ALLOCATION LENGTH below 4 is an error, not a truncation.
  if (allocationLength < 4) return invalidCdbField(6, 7);
  return { repd: (cdb[2] & 0x80) !== 0, allocationLength };
}

export function supportedTmfData(functions: readonly TaskManagementFunction[], repd: boolean): Buffer {
  const b = Buffer.alloc(repd ? 16 : 4);
  for (const f of functions) b[0] |= BIT[f];
  // Byte 1 (QAES, QTSS, ITNRS) stays 0. With REPD: ADDITIONAL DATA LENGTH 0Ch,
  // TMFTMOV=0 and every per-function timeout bit 0: no TMF timeouts are reported.
  if (repd) b[3] = 0x0c;
  return b;
}

export const reportSupportedTmfCommand = defineCommand<RstmfParams>({
  name: 'REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS',
  opcode: MAINTENANCE_IN,
  serviceAction: SA_REPORT_SUPPORTED_TMF,
  cdbLength: 12,
  usage: [MAINTENANCE_IN, 0x1f, 0x80, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
  modifiesMedium: false,
  allowedUnderReservation: true,
  parse: parseRstmf,
  async execute(p) {
    return dataIn(supportedTmfData(SUPPORTED_TASK_MANAGEMENT_FUNCTIONS, p.repd), p.allocationLength);
  },
});
