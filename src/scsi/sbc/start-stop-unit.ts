// START STOP UNIT (SBC-3 §5.25) for a non-removable LU (INQUIRY RMB=0): the
// unit is always started and has no medium to eject, so the command is accepted
// without effect (as LIO does), except that ejection is refused while a PREVENT
// is in force (MEDIUM REMOVAL PREVENTED).

import { ScsiStatus } from '../api.js';
import { defineCommand, type AnyCommandSpec } from '../command.js';
import { failure, SenseReason, type SenseFailure } from '../sense.js';

interface StartStopParams {
  readonly loej: boolean;
  readonly start: boolean;
  readonly powerCondition: number;
}

function parseStartStop(cdb: Buffer): StartStopParams | SenseFailure {
  return { powerCondition: cdb[4] >> 4, loej: (cdb[4] & 0x02) !== 0, start: (cdb[4] & 0x01) !== 0 };
}

export const startStopUnitCommand: AnyCommandSpec = defineCommand<StartStopParams>({
  name: 'START STOP UNIT',
  opcode: 0x1b,
  cdbLength: 6,
  usage: [0x1b, 0x01, 0x00, 0x0f, 0xf7, 0x00],
  modifiesMedium: false,
  allowedUnderReservation: false,
  parse: parseStartStop,
  async execute(p, ctx) {
    if (p.powerCondition === 0 && p.loej && !p.start && ctx.unit.preventers.size > 0) {
      return failure(SenseReason.MediumRemovalPrevented);
    }
    return { status: ScsiStatus.Good };
  },
});
