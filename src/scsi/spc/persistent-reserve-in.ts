// PERSISTENT RESERVE IN (5Eh), SPC-4 §6.15: READ KEYS, READ RESERVATION,
// REPORT CAPABILITIES, READ FULL STATUS. Other service actions are rejected
// by the command table lookup (INVALID FIELD IN CDB, byte 1).

import { dataIn } from '../cdb.js';
import { defineCommand, type AnyCommandSpec, type CommandContext } from '../command.js';
import { isAllRegistrants, isHolder, type PersistentReservations } from '../pr/state.js';
import { encodeTransportId } from '../pr/transport-id.js';

export const PERSISTENT_RESERVE_IN = 0x5e;

export enum PrInAction {
  ReadKeys = 0x00,
  ReadReservation = 0x01,
  ReportCapabilities = 0x02,
  ReadFullStatus = 0x03,
}

interface PrInParams {
  readonly allocationLength: number;
}

function header(pr: PersistentReservations, additional: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(pr.generation, 0);
  b.writeUInt32BE(additional, 4);
  return b;
}

/** SPC-4 §6.15.2: the ADDITIONAL LENGTH counts every key, whatever the allocation length. */
export function readKeys(pr: PersistentReservations): Buffer {
  const keys = Buffer.alloc(8 * pr.registrations.length);
  pr.registrations.forEach((r, i) => keys.writeBigUInt64BE(r.key, 8 * i));
  return Buffer.concat([header(pr, keys.length), keys]);
}

/** SPC-4 §6.15.3: the key is 0 for all-registrants types (SPC-4 §5.9.10). */
export function readReservation(pr: PersistentReservations): Buffer {
  const res = pr.reservation;
  if (res === undefined) return header(pr, 0);
  const d = Buffer.alloc(16);
  d.writeBigUInt64BE(isAllRegistrants(res.type) ? 0n : res.holder.key, 0);
  d[13] = (res.scope << 4) | res.type;
  return Buffer.concat([header(pr, 16), d]);
}

/** Type mask bits (SPC-4 Table 175): every type is supported. */
const TYPE_MASK = 0x80 | 0x40 | 0x20 | 0x08 | 0x02; // WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX
const TYPE_MASK_LOW = 0x01; // EX_AC_AR

/**
 * SPC-4 §6.15.4. CRH=1 (§5.9.3 exceptions for RESERVE/RELEASE), SIP_C and
 * ATP_C=1, PTPL_C when a store is configured; TMV=1; ALLOW COMMANDS 011b
 * (TEST UNIT READY allowed through every type, MODE SENSE & co. through
 * Write Exclusive ones, as pr/conflict.ts implements).
 */
export function reportCapabilities(pr: PersistentReservations, ptplCapable: boolean): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16BE(8, 0);
  b[2] = 0x10 | 0x08 | 0x04 | (ptplCapable ? 0x01 : 0);
  b[3] = 0x80 | (0x3 << 4) | (pr.aptpl ? 0x01 : 0);
  b[4] = TYPE_MASK;
  b[5] = TYPE_MASK_LOW;
  return b;
}

/** SPC-4 §6.15.5: one full status descriptor per registration. */
export function readFullStatus(pr: PersistentReservations): Buffer {
  const res = pr.reservation;
  const descriptors = pr.registrations.map((r) => {
    const tid = encodeTransportId(r.initiator);
    const d = Buffer.alloc(24 + tid.length);
    d.writeBigUInt64BE(r.key, 0);
    const holder = isHolder(pr, r);
    d[12] = (r.allTargetPorts ? 0x02 : 0) | (holder ? 0x01 : 0);
    if (holder && res !== undefined) d[13] = (res.scope << 4) | res.type;
    d.writeUInt16BE(r.allTargetPorts ? 0 : r.relativeTargetPortId, 18);
    d.writeUInt32BE(tid.length, 20);
    tid.copy(d, 24);
    return d;
  });
  const body = Buffer.concat(descriptors);
  return Buffer.concat([header(pr, body.length), body]);
}

function prIn(action: PrInAction, name: string, build: (ctx: CommandContext) => Buffer): AnyCommandSpec {
  return defineCommand<PrInParams>({
    name: `PERSISTENT RESERVE IN (${name})`,
    opcode: PERSISTENT_RESERVE_IN,
    serviceAction: action,
    cdbLength: 10,
    usage: [PERSISTENT_RESERVE_IN, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00],
    modifiesMedium: false,
    allowedUnderReservation: false,
    parse: (cdb) => ({ allocationLength: cdb.readUInt16BE(7) }),
    async execute(p, ctx) {
      return dataIn(build(ctx), p.allocationLength);
    },
  });
}

export const persistentReserveInCommands: readonly AnyCommandSpec[] = [
  prIn(PrInAction.ReadKeys, 'READ KEYS', (ctx) => readKeys(ctx.unit.pr)),
  prIn(PrInAction.ReadReservation, 'READ RESERVATION', (ctx) => readReservation(ctx.unit.pr)),
  prIn(PrInAction.ReportCapabilities, 'REPORT CAPABILITIES', (ctx) => reportCapabilities(ctx.unit.pr, ctx.unit.options.prStore !== undefined)),
  prIn(PrInAction.ReadFullStatus, 'READ FULL STATUS', (ctx) => readFullStatus(ctx.unit.pr)),
];
