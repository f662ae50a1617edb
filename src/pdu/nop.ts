// NOP-Out (RFC 7143 §11.18) and NOP-In (§11.19).
//
// NOP-Out                                NOP-In
//  0     .|I|0x00                          0     0x20
//  1     1 (F)                             1     1 (F)
//  4     TotalAHSLength                    4     TotalAHSLength
//  5-7   DataSegmentLength                 5-7   DataSegmentLength
//  8-15  LUN                               8-15  LUN
//  16-19 Initiator Task Tag                16-19 Initiator Task Tag
//  20-23 Target Transfer Tag               20-23 Target Transfer Tag
//  24-27 CmdSN                             24-27 StatSN
//  28-31 ExpStatSN                         28-31 ExpCmdSN
//  32-47 reserved                          32-35 MaxCmdSN
//  data  ping data                         data  ping data (echoed)

import { allocBhs, checkFrame, emptyBuffer, makeFrame, readImmediate, readItt, readLun, writeLun } from './bhs.js';
import { Opcode } from './types.js';
import type { DecodeResult, Frame, NopIn, NopOut } from './types.js';

export function encodeNopOut(p: NopOut): Frame {
  const bhs = allocBhs(Opcode.NopOut, p.immediate);
  bhs[1] = 0x80;
  writeLun(bhs, p.lun);
  bhs.writeUInt32BE(p.itt, 16);
  bhs.writeUInt32BE(p.ttt, 20);
  bhs.writeUInt32BE(p.cmdSn, 24);
  bhs.writeUInt32BE(p.expStatSn, 28);
  return makeFrame(bhs, emptyBuffer(), p.data);
}

export function decodeNopOut(frame: Frame): DecodeResult<NopOut> {
  const bad = checkFrame(frame, Opcode.NopOut, { name: 'NOP-Out' });
  if (bad) return bad;
  const { bhs } = frame;
  return {
    ok: true,
    pdu: {
      opcode: Opcode.NopOut,
      immediate: readImmediate(bhs),
      lun: readLun(bhs),
      itt: readItt(bhs),
      ttt: bhs.readUInt32BE(20),
      cmdSn: bhs.readUInt32BE(24),
      expStatSn: bhs.readUInt32BE(28),
      data: frame.data,
    },
  };
}

export function encodeNopIn(p: NopIn): Frame {
  const bhs = allocBhs(Opcode.NopIn);
  bhs[1] = 0x80;
  writeLun(bhs, p.lun);
  bhs.writeUInt32BE(p.itt, 16);
  bhs.writeUInt32BE(p.ttt, 20);
  bhs.writeUInt32BE(p.statSn, 24);
  bhs.writeUInt32BE(p.expCmdSn, 28);
  bhs.writeUInt32BE(p.maxCmdSn, 32);
  return makeFrame(bhs, emptyBuffer(), p.data);
}

export function decodeNopIn(frame: Frame): DecodeResult<NopIn> {
  const bad = checkFrame(frame, Opcode.NopIn, { name: 'NOP-In' });
  if (bad) return bad;
  const { bhs } = frame;
  return {
    ok: true,
    pdu: {
      opcode: Opcode.NopIn,
      lun: readLun(bhs),
      itt: readItt(bhs),
      ttt: bhs.readUInt32BE(20),
      statSn: bhs.readUInt32BE(24),
      expCmdSn: bhs.readUInt32BE(28),
      maxCmdSn: bhs.readUInt32BE(32),
      data: frame.data,
    },
  };
}
