// READ DEFECT DATA (10) / (12), SBC-3 §5.17/§5.18. The medium is a file or
// memory with no grown or primary defects to report: the answer is the header
// alone, with PLISTV/GLISTV echoing what was requested (an empty list is
// returned) and the requested DEFECT LIST FORMAT (any format describes an empty
// list). 111b is reserved.

import { dataIn } from '../cdb.js';
import { defineCommand, type AnyCommandSpec } from '../command.js';
import { invalidCdbField, type SenseFailure } from '../sense.js';

export const READ_DEFECT_DATA_10 = 0x37;
export const READ_DEFECT_DATA_12 = 0xb7;

export interface ReadDefectDataParams {
  /** REQ_PLIST | REQ_GLIST | DEFECT LIST FORMAT, as in the CDB (bits 4..0). */
  readonly request: number;
  readonly allocationLength: number;
}

export function parseReadDefectData(cdb: Buffer, size: 10 | 12): ReadDefectDataParams | SenseFailure {
  // (10): flags in byte 2, ALLOCATION LENGTH bytes 7..8; (12): flags in byte 1, ALLOCATION LENGTH bytes 6..9.
  const flagsByte = size === 10 ? 2 : 1;
  const request = cdb[flagsByte] & 0x1f;
  if ((request & 0x07) === 0x07) return invalidCdbField(flagsByte, 2);
  return { request, allocationLength: size === 10 ? cdb.readUInt16BE(7) : cdb.readUInt32BE(6) };
}

/** Defect list header with DEFECT LIST LENGTH 0 (4 bytes for (10), 8 for (12)). */
export function defectListHeader(request: number, size: 10 | 12): Buffer {
  const b = Buffer.alloc(size === 10 ? 4 : 8);
  b[1] = request; // PLISTV, GLISTV and DEFECT LIST FORMAT occupy the same bits as the request
  return b;
}

function readDefectDataCommand(opcode: number, size: 10 | 12): AnyCommandSpec {
  return defineCommand<ReadDefectDataParams>({
    name: `READ DEFECT DATA(${size})`,
    opcode,
    cdbLength: size,
    usage:
      size === 10
        ? [opcode, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00]
        : [opcode, 0x1f, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
    modifiesMedium: false,
    allowedUnderReservation: false,
    parse: (cdb) => parseReadDefectData(cdb, size),
    async execute(p) {
      return dataIn(defectListHeader(p.request, size), p.allocationLength);
    },
  });
}

export const readDefectDataCommands: readonly AnyCommandSpec[] = [
  readDefectDataCommand(READ_DEFECT_DATA_10, 10),
  readDefectDataCommand(READ_DEFECT_DATA_12, 12),
];
