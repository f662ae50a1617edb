// SPC-2 RESERVE(6)/(10) and RELEASE(6)/(10) (SPC-2 §7.21–7.24): one
// logical-unit reservation held by one I_T nexus. The dispatcher answers
// RESERVATION CONFLICT to other nexuses (command spec allowedUnderReservation);
// a RELEASE from a non-holder succeeds without effect. Released by LU/target
// reset and by I_T nexus loss. Next to persistent reservations they follow
// SPC-4 §5.9.3 (CRH=1).

import { ScsiStatus, type Nexus, type ScsiResult } from '../api.js';
import { defineCommand, type AnyCommandSpec } from '../command.js';
import { isAllRegistrants, isHolder, isRegistrantsOnly, registrationOf, type PersistentReservations } from '../pr/state.js';
import { invalidCdbField, type SenseFailure } from '../sense.js';

/**
 * SPC-4 §5.9.3: a RESERVE/RELEASE from the persistent reservation holder, or
 * from a registrant while a registrants-only or all-registrants reservation
 * exists, completes with GOOD and changes nothing ('ignore'). Otherwise any
 * registration makes it conflict (SPC-2 §5.5.1); without registrations the
 * SPC-2 rules apply ('spc2').
 */
export function compatibleReservationHandling(pr: PersistentReservations, nexus: Nexus): 'ignore' | 'conflict' | 'spc2' {
  const reg = registrationOf(pr, nexus);
  if (reg !== undefined) {
    const res = pr.reservation;
    if (isHolder(pr, reg)) return 'ignore';
    if (res !== undefined && (isRegistrantsOnly(res.type) || isAllRegistrants(res.type))) return 'ignore';
    return 'conflict';
  }
  return pr.registrations.length > 0 ? 'conflict' : 'spc2';
}

const CONFLICT: ScsiResult = { status: ScsiStatus.ReservationConflict };

function parseReserve(cdb: Buffer, ten: boolean): null | SenseFailure {
  if (ten) {
    if (cdb[1] & 0x10) return invalidCdbField(1, 4); // third-party reservations not supported
    if (cdb[1] & 0x02) return invalidCdbField(1, 1); // LONGID
  } else if (cdb[1] & 0x1f) {
    return invalidCdbField(1, 4); // obsolete 3rdPty / extent fields
  }
  return null;
}

function reserveCommand(ten: boolean): AnyCommandSpec {
  const opcode = ten ? 0x56 : 0x16;
  return defineCommand<null>({
    name: ten ? 'RESERVE(10)' : 'RESERVE(6)',
    opcode,
    cdbLength: ten ? 10 : 6,
    usage: ten ? [opcode, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00] : [opcode, 0x1f, 0x00, 0x00, 0x00, 0x00],
    modifiesMedium: false,
    allowedUnderReservation: false,
    parse: (cdb) => parseReserve(cdb, ten),
    async execute(_p, ctx) {
      const crh = compatibleReservationHandling(ctx.unit.pr, ctx.nexus);
      if (crh === 'conflict') return CONFLICT;
      if (crh === 'spc2') ctx.unit.reservation = ctx.nexus.id;
      return { status: ScsiStatus.Good };
    },
  });
}

function releaseCommand(ten: boolean): AnyCommandSpec {
  const opcode = ten ? 0x57 : 0x17;
  return defineCommand<null>({
    name: ten ? 'RELEASE(10)' : 'RELEASE(6)',
    opcode,
    cdbLength: ten ? 10 : 6,
    usage: ten ? [opcode, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00] : [opcode, 0x1f, 0x00, 0x00, 0x00, 0x00],
    modifiesMedium: false,
    allowedUnderReservation: true,
    parse: (cdb) => parseReserve(cdb, ten),
    async execute(_p, ctx) {
      const crh = compatibleReservationHandling(ctx.unit.pr, ctx.nexus);
      if (crh === 'conflict') return CONFLICT;
      if (crh === 'spc2' && ctx.unit.reservation === ctx.nexus.id) ctx.unit.reservation = undefined;
      return { status: ScsiStatus.Good };
    },
  });
}

export const reserveReleaseCommands: readonly AnyCommandSpec[] = [reserveCommand(false), releaseCommand(false), reserveCommand(true), releaseCommand(true)];
