// START STOP UNIT (SBC-3 §5.25).
//
// The unit is never stopped (no power conditions are modelled): START and
// LOEJ=0 change nothing, and a POWER CONDITION other than 0h makes the device
// server ignore START and LOEJ (SBC-3 §5.25).
//
// Fixed medium (INQUIRY RMB=0): accepted without effect, as LIO does, except
// that an eject is refused while a PREVENT is in force.
//
// Removable medium (RMB=1): LOEJ=1 with START=0 ejects (after writing back the
// cache unless NO_FLUSH=1), LOEJ=1 with START=1 loads. While any I_T nexus
// prevents medium removal both are refused with MEDIUM REMOVAL PREVENTED — as
// for a tray, loading needs it opened — which is what libiscsi's
// PreventAllow.Eject expects. Loading raises NOT READY TO READY CHANGE, MEDIUM
// MAY HAVE CHANGED (28/00) for every other I_T nexus (SAM-5 §5.14: a unit
// attention reports a change the initiator did not cause); the nexus that
// loaded the medium knows, and libiscsi's StartStopUnit.Simple expects its
// next TEST UNIT READY to be GOOD. The medium stays as it is across resets.

import { ScsiStatus } from '../api.js';
import { defineCommand, type AnyCommandSpec } from '../command.js';
import type { LogicalUnitState } from '../logical-unit.js';
import { failure, SenseReason, type SenseFailure } from '../sense.js';
import { establish } from '../unit-attention.js';

interface StartStopParams {
  readonly immed: boolean;
  readonly noFlush: boolean;
  readonly loej: boolean;
  readonly start: boolean;
  readonly powerCondition: number;
}

function parseStartStop(cdb: Buffer): StartStopParams | SenseFailure {
  return {
    immed: (cdb[1] & 0x01) !== 0,
    powerCondition: cdb[4] >> 4,
    noFlush: (cdb[4] & 0x04) !== 0,
    loej: (cdb[4] & 0x02) !== 0,
    start: (cdb[4] & 0x01) !== 0,
  };
}

/** Mount the medium; the other I_T nexuses learn of it through a unit attention. */
export function loadMedium(unit: LogicalUnitState, byNexusId?: string): void {
  if (unit.mediumPresent) return;
  unit.mediumPresent = true;
  establish(unit.ua, SenseReason.NotReadyToReadyChange, (id) => id !== byNexusId);
}

/** Unmount the medium (the cache is written back first unless `flush` is false). */
export async function ejectMedium(unit: LogicalUnitState, flush = true): Promise<void> {
  if (!unit.mediumPresent) return;
  if (flush && unit.device.writeCache) await unit.device.flush();
  unit.mediumPresent = false;
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
    const unit = ctx.unit;
    if (p.powerCondition !== 0 || !p.loej) return { status: ScsiStatus.Good };
    if (unit.options.removable !== true) {
      if (!p.start && unit.preventers.size > 0) return failure(SenseReason.MediumRemovalPrevented);
      return { status: ScsiStatus.Good };
    }
    if (unit.preventers.size > 0) return failure(SenseReason.MediumRemovalPrevented);
    if (p.start) loadMedium(unit, ctx.nexus.id);
    else await ejectMedium(unit, !p.noFlush);
    return { status: ScsiStatus.Good };
  },
});
