// MODE SENSE (6)/(10), SPC-4 §6.11/§6.12, with the direct-access mode
// parameter header and block descriptors of SBC-3 §6.4.

import { dataIn, writeU64 } from '../cdb.js';
import { defineCommand, type AnyCommandSpec } from '../command.js';
import type { LogicalUnitState } from '../logical-unit.js';
import { failure, invalidCdbField, SenseReason, type SenseFailure } from '../sense.js';
import { modePage, PAGE_ALL, PageControl, SUPPORTED_PAGES, type ModePageInputs } from './mode-pages.js';

interface ModeSenseParams {
  readonly ten: boolean;
  readonly dbd: boolean;
  readonly llbaa: boolean;
  readonly pc: PageControl;
  readonly pageCode: number;
  readonly subpage: number;
  readonly allocationLength: number;
}

function parseModeSense(cdb: Buffer, ten: boolean): ModeSenseParams | SenseFailure {
  const pc = (cdb[2] >> 6) as PageControl;
  const pageCode = cdb[2] & 0x3f;
  const subpage = cdb[3];
  if (pc === PageControl.Saved) return failure(SenseReason.SavingParametersNotSupported);
  if (subpage !== 0 && !(pageCode === PAGE_ALL && subpage === 0xff)) return invalidCdbField(3, 7);
  if (pageCode !== PAGE_ALL && !SUPPORTED_PAGES.includes(pageCode)) return invalidCdbField(2, 5);
  return {
    ten,
    dbd: (cdb[1] & 0x08) !== 0,
    llbaa: ten && (cdb[1] & 0x10) !== 0,
    pc,
    pageCode,
    subpage,
    allocationLength: ten ? cdb.readUInt16BE(7) : cdb[4],
  };
}

/** Device-specific parameter for direct-access devices (SBC-3 §6.4.1): WP and DPOFUA. */
export function deviceSpecificParameter(writeProtected: boolean): number {
  return (writeProtected ? 0x80 : 0) | 0x10;
}

function blockDescriptor(unit: LogicalUnitState, long: boolean): Buffer {
  const { blockCount, blockSize } = unit.device;
  if (long) {
    const b = Buffer.alloc(16);
    writeU64(b, 0, blockCount);
    b.writeUInt32BE(blockSize, 12);
    return b;
  }
  const b = Buffer.alloc(8);
  b.writeUInt32BE(blockCount > 0xffffffff ? 0xffffffff : blockCount, 0);
  b.writeUIntBE(blockSize & 0xffffff, 5, 3);
  return b;
}

export function modeSenseData(unit: LogicalUnitState, p: ModeSenseParams, writeProtected: boolean): Buffer {
  const inputs: ModePageInputs = { writeCache: unit.device.writeCache, state: unit.mode };
  const codes = p.pageCode === PAGE_ALL ? SUPPORTED_PAGES : [p.pageCode];
  const pages = codes.map((c) => modePage(c, p.pc, inputs)).filter((b): b is Buffer => b !== undefined);
  const bd = p.dbd ? Buffer.alloc(0) : blockDescriptor(unit, p.llbaa);
  const header = Buffer.alloc(p.ten ? 8 : 4);
  const total = header.length + bd.length + pages.reduce((n, b) => n + b.length, 0);
  if (p.ten) {
    header.writeUInt16BE(total - 2, 0);
    header[3] = deviceSpecificParameter(writeProtected);
    if (p.llbaa && !p.dbd) header[4] = 0x01; // LONGLBA
    header.writeUInt16BE(bd.length, 6);
  } else {
    header[0] = total - 1;
    header[2] = deviceSpecificParameter(writeProtected);
    header[3] = bd.length;
  }
  return Buffer.concat([header, bd, ...pages]);
}

function modeSenseCommand(ten: boolean): AnyCommandSpec {
  const opcode = ten ? 0x5a : 0x1a;
  return defineCommand<ModeSenseParams>({
    name: ten ? 'MODE SENSE(10)' : 'MODE SENSE(6)',
    opcode,
    cdbLength: ten ? 10 : 6,
    usage: ten ? [opcode, 0x18, 0xff, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00] : [opcode, 0x08, 0xff, 0xff, 0xff, 0x00],
    modifiesMedium: false,
    allowedUnderReservation: false,
    parse: (cdb) => parseModeSense(cdb, ten),
    execute: async (p, ctx) => dataIn(modeSenseData(ctx.unit, p, ctx.writeProtected), p.allocationLength),
  });
}

export const modeSenseCommands: readonly AnyCommandSpec[] = [modeSenseCommand(false), modeSenseCommand(true)];
