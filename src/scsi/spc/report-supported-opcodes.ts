// REPORT SUPPORTED OPERATION CODES (MAINTENANCE IN / 0Ch), SPC-4 §6.35,
// generated from the command table.

import { dataIn } from '../cdb.js';
import { defineCommand, type AnyCommandSpec, type CommandTable } from '../command.js';
import type { LogicalUnitState } from '../logical-unit.js';
import { invalidCdbField, type SenseFailure } from '../sense.js';

export const MAINTENANCE_IN = 0xa3;
export const SA_REPORT_SUPPORTED_OPCODES = 0x0c;

/** Used when a spec gives no timeouts: nominal "not specified", recommended 30 s. */
const DEFAULT_TIMEOUTS = { nominal: 0, recommended: 30 };

interface RsocParams {
  readonly rctd: boolean;
  readonly options: number;
  readonly opcode: number;
  readonly serviceAction: number;
  readonly allocationLength: number;
}

function parseRsoc(cdb: Buffer): RsocParams | SenseFailure {
  const options = cdb[2] & 0x07;
  if (options > 3) return invalidCdbField(2, 2);
  return { rctd: (cdb[2] & 0x80) !== 0, options, opcode: cdb[3], serviceAction: cdb.readUInt16BE(4), allocationLength: cdb.readUInt32BE(6) };
}

function timeoutDescriptor(spec: AnyCommandSpec): Buffer {
  const t = spec.timeouts ?? DEFAULT_TIMEOUTS;
  const b = Buffer.alloc(12);
  b.writeUInt16BE(0x0a, 0);
  b.writeUInt32BE(t.nominal, 4);
  b.writeUInt32BE(t.recommended, 8);
  return b;
}

/** Commands this LU implements (CommandSpec.available); without a unit, every command of the table. */
function offered(spec: AnyCommandSpec | undefined, unit: LogicalUnitState | undefined): AnyCommandSpec | undefined {
  return spec !== undefined && unit !== undefined && spec.available !== undefined && !spec.available(unit) ? undefined : spec;
}

/** All-commands format: 8-byte command descriptors (+ timeouts with RCTD). */
function allCommands(table: CommandTable, rctd: boolean, unit: LogicalUnitState | undefined): Buffer {
  const parts = table.all.filter((spec) => offered(spec, unit) !== undefined).map((spec) => {
    const d = Buffer.alloc(8);
    d[0] = spec.opcode;
    d.writeUInt16BE(spec.serviceAction ?? 0, 2);
    d[5] = (rctd ? 0x02 : 0) | (spec.serviceAction !== undefined ? 0x01 : 0);
    d.writeUInt16BE(spec.cdbLength, 6);
    return rctd ? Buffer.concat([d, timeoutDescriptor(spec)]) : d;
  });
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

/** One-command format: SUPPORT 011b with the CDB usage data, or 001b when not supported. */
function oneCommand(spec: AnyCommandSpec | undefined, rctd: boolean): Buffer {
  if (spec === undefined) {
    const b = Buffer.alloc(4);
    b[1] = 0x01;
    return b;
  }
  const usage = Buffer.from(spec.usage.slice(0, spec.cdbLength));
  const head = Buffer.alloc(4);
  head[1] = (rctd ? 0x80 : 0) | 0x03;
  head.writeUInt16BE(usage.length, 2);
  return Buffer.concat(rctd ? [head, usage, timeoutDescriptor(spec)] : [head, usage]);
}

export function reportSupportedOpcodes(p: RsocParams, table: CommandTable, unit?: LogicalUnitState): Buffer | SenseFailure {
  if (p.options === 0) return allCommands(table, p.rctd, unit);
  const entry = table.byOpcode.get(p.opcode);
  const multiplexed = entry instanceof Map;
  if (p.options === 1) {
    if (multiplexed) return invalidCdbField(2, 2);
    return oneCommand(offered(entry as AnyCommandSpec | undefined, unit), p.rctd);
  }
  if (p.options === 2) {
    if (entry !== undefined && !multiplexed) return invalidCdbField(2, 2);
    return oneCommand(offered(multiplexed ? entry.get(p.serviceAction) : undefined, unit), p.rctd);
  }
  // 011b: opcode and service action if the opcode has service actions, else opcode only.
  return oneCommand(offered(multiplexed ? entry.get(p.serviceAction) : (entry as AnyCommandSpec | undefined), unit), p.rctd);
}

export const reportSupportedOpcodesCommand = defineCommand<RsocParams>({
  name: 'REPORT SUPPORTED OPERATION CODES',
  opcode: MAINTENANCE_IN,
  serviceAction: SA_REPORT_SUPPORTED_OPCODES,
  cdbLength: 12,
  usage: [MAINTENANCE_IN, 0x1f, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
  modifiesMedium: false,
  allowedUnderReservation: true,
  parse: parseRsoc,
  async execute(p, ctx) {
    const out = reportSupportedOpcodes(p, ctx.table, ctx.unit);
    return Buffer.isBuffer(out) ? dataIn(out, p.allocationLength) : out;
  },
});
