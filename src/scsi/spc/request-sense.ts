// REQUEST SENSE (SPC-4 §6.39): returns (and clears) a pending unit attention
// as parameter data with GOOD status; otherwise the LU's current condition:
// a sanitize in progress (NOT READY, SANITIZE IN PROGRESS with the progress
// indication, SBC-4 §4.11.2 — how an initiator polls an IMMED=1 sanitize), a
// failed sanitize, no medium (NOT READY, MEDIUM NOT PRESENT), or NO SENSE.

import type { ScsiResult } from '../api.js';
import { dataIn } from '../cdb.js';
import { defineCommand } from '../command.js';
import { buildSense, SenseReason, type SenseFailure, invalidCdbField } from '../sense.js';
import { take } from '../unit-attention.js';
import { sanitizeCondition } from '../sbc/sanitize.js';

export const REQUEST_SENSE = 0x03;

export interface RequestSenseParams {
  readonly descriptor: boolean;
  readonly allocationLength: number;
}

export function parseRequestSense(cdb: Buffer): RequestSenseParams | SenseFailure {
  if (cdb[1] & 0xfe) return invalidCdbField(1, 7);
  return { descriptor: (cdb[1] & 0x01) !== 0, allocationLength: cdb[4] };
}

export function senseParameterData(reason: SenseReason, params: RequestSenseParams): ScsiResult {
  return dataIn(buildSense(reason, { descriptor: params.descriptor }), params.allocationLength);
}

export const requestSenseCommand = defineCommand<RequestSenseParams>({
  name: 'REQUEST SENSE',
  opcode: REQUEST_SENSE,
  cdbLength: 6,
  usage: [REQUEST_SENSE, 0x01, 0x00, 0x00, 0xff, 0x00],
  modifiesMedium: false,
  allowedUnderReservation: true,
  bypassesUnitAttention: true,
  parse: parseRequestSense,
  async execute(p, ctx) {
    const unit = ctx.unit;
    const ua = take(unit.ua, ctx.nexus.id);
    if (ua !== undefined) return senseParameterData(ua, p);
    const condition = sanitizeCondition(unit, p.descriptor);
    if (condition !== undefined) return dataIn(condition, p.allocationLength);
    return senseParameterData(unit.mediumPresent ? SenseReason.NoSense : SenseReason.MediumNotPresent, p);
  },
});
