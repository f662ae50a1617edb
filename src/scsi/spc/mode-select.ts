// MODE SELECT (6)/(10), SPC-4 §6.9/§6.10. The parameter list is checked
// byte-wise against the current page under the changeable mask (an initiator
// may only alter changeable bits); PS is ignored. Only after the whole list
// validates are the changes applied; a change raises MODE PARAMETERS CHANGED
// for the other nexuses (the mode pages are shared by all I_T nexuses).

import { ScsiStatus } from '../api.js';
import { readU64Safe } from '../cdb.js';
import { defineCommand, type AnyCommandSpec, type CommandContext } from '../command.js';
import { failure, invalidCdbField, invalidParameterField, isSenseFailure, SenseReason, type SenseFailure } from '../sense.js';
import { establish } from '../unit-attention.js';
import { applyModePage, modePage, PageControl, type ModePageInputs, type ModeState } from './mode-pages.js';

interface ModeSelectParams {
  readonly ten: boolean;
  readonly parameterListLength: number;
}

function parseModeSelect(cdb: Buffer, ten: boolean): ModeSelectParams | SenseFailure {
  if ((cdb[1] & 0x10) === 0) return invalidCdbField(1, 4); // PF=0: vendor-specific page format is not supported
  if ((cdb[1] & 0x01) !== 0) return invalidCdbField(1, 0); // SP=1: no saveable pages (SPC-4 §6.9)
  return { ten, parameterListLength: ten ? cdb.readUInt16BE(7) : cdb[4] };
}

/** Validate the block descriptor: the block size cannot change, nor the capacity. */
function checkBlockDescriptor(bd: Buffer, offset: number, long: boolean, ctx: CommandContext): SenseFailure | undefined {
  const { blockSize, blockCount } = ctx.unit.device;
  if (long) {
    const count = readU64Safe(bd, 0);
    if (count !== 0 && count !== blockCount) return invalidParameterField(offset, 7);
    if (bd.readUInt32BE(12) !== blockSize) return invalidParameterField(offset + 12, 7);
  } else {
    const count = bd.readUInt32BE(0);
    if (count !== 0 && count !== Math.min(blockCount, 0xffffffff)) return invalidParameterField(offset, 7);
    if (bd.readUIntBE(5, 3) !== blockSize) return invalidParameterField(offset + 5, 7);
  }
  return undefined;
}

export function applyModeParameters(list: Buffer, ten: boolean, ctx: CommandContext): ModeState | SenseFailure {
  const headerLength = ten ? 8 : 4;
  if (list.length < headerLength) return failure(SenseReason.ParameterListLengthError);
  const bdLength = ten ? list.readUInt16BE(6) : list[3];
  const long = ten && (list[4] & 0x01) !== 0;
  const bdSize = long ? 16 : 8;
  if (bdLength % bdSize !== 0 || bdLength > bdSize) return invalidParameterField(ten ? 6 : 3, 7);
  if (headerLength + bdLength > list.length) return failure(SenseReason.ParameterListLengthError);
  if (bdLength > 0) {
    const bad = checkBlockDescriptor(list.subarray(headerLength, headerLength + bdLength), headerLength, long, ctx);
    if (bad) return bad;
  }
  let state = ctx.unit.mode;
  for (let off = headerLength + bdLength; off < list.length; ) {
    if (off + 2 > list.length) return failure(SenseReason.ParameterListLengthError);
    if ((list[off] & 0x40) !== 0) return invalidParameterField(off, 6); // SPF: no subpages
    const code = list[off] & 0x3f;
    const length = list[off + 1];
    if (off + 2 + length > list.length) return failure(SenseReason.ParameterListLengthError);
    const inputs: ModePageInputs = { writeCache: ctx.unit.device.writeCache, state };
    const current = modePage(code, PageControl.Current, inputs);
    const changeable = modePage(code, PageControl.Changeable, inputs);
    if (current === undefined || changeable === undefined) return invalidParameterField(off, 5);
    if (length !== current.length - 2) return invalidParameterField(off + 1, 7);
    const page = list.subarray(off, off + 2 + length);
    for (let i = 2; i < page.length; i++) {
      const forbidden = (page[i] ^ current[i]) & ~changeable[i] & 0xff;
      if (forbidden !== 0) return invalidParameterField(off + i, 31 - Math.clz32(forbidden));
    }
    state = applyModePage(code, page, state);
    off += 2 + length;
  }
  return state;
}

function modeSelectCommand(ten: boolean): AnyCommandSpec {
  const opcode = ten ? 0x55 : 0x15;
  return defineCommand<ModeSelectParams>({
    name: ten ? 'MODE SELECT(10)' : 'MODE SELECT(6)',
    opcode,
    cdbLength: ten ? 10 : 6,
    usage: ten ? [opcode, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00] : [opcode, 0x11, 0x00, 0x00, 0xff, 0x00],
    modifiesMedium: false,
    allowedUnderReservation: false,
    parse: (cdb) => parseModeSelect(cdb, ten),
    dataOutLength: (p) => p.parameterListLength,
    async execute(p, ctx) {
      if (p.parameterListLength === 0) return { status: ScsiStatus.Good };
      const list = ctx.dataOut.length === 1 ? ctx.dataOut[0] : Buffer.concat(ctx.dataOut as Buffer[]);
      const next = applyModeParameters(list.subarray(0, p.parameterListLength), ten, ctx);
      if (isSenseFailure(next)) return next;
      const before = ctx.unit.mode;
      ctx.unit.mode = next;
      if (before.dSense !== next.dSense || before.swp !== next.swp) {
        establish(ctx.unit.ua, SenseReason.ModeParametersChanged, (id) => id !== ctx.nexus.id);
      }
      return { status: ScsiStatus.Good };
    },
  });
}

export const modeSelectCommands: readonly AnyCommandSpec[] = [modeSelectCommand(false), modeSelectCommand(true)];
