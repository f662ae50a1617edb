// SNACK Request (RFC 7143 §11.16).
//
//  0     0x10
//  1     1|.|.|.|Type(4)    0 Data/R2T, 1 Status, 2 DataACK, 3 R-Data
//  8-15  LUN
//  16-19 Initiator Task Tag (0xffffffff for Status SNACK)
//  20-23 Target Transfer Tag or SNACK Tag
//  28-31 ExpStatSN
//  40-43 BegRun
//  44-47 RunLength
//  no data segment.

import { allocBhs, checkFrame, emptyBuffer, makeFrame, readItt, readLun, writeLun } from './bhs.js';
import { Opcode } from './types.js';
import type { DecodeResult, Frame, Snack } from './types.js';

export function encodeSnack(p: Snack): Frame {
  const bhs = allocBhs(Opcode.Snack);
  bhs[1] = 0x80 | (p.type & 0x0f);
  writeLun(bhs, p.lun);
  bhs.writeUInt32BE(p.itt, 16);
  bhs.writeUInt32BE(p.ttt, 20);
  bhs.writeUInt32BE(p.expStatSn, 28);
  bhs.writeUInt32BE(p.begRun, 40);
  bhs.writeUInt32BE(p.runLength, 44);
  return makeFrame(bhs, emptyBuffer(), emptyBuffer());
}

export function decodeSnack(frame: Frame): DecodeResult<Snack> {
  const bad = checkFrame(frame, Opcode.Snack, { name: 'SNACK', allowData: false });
  if (bad) return bad;
  const { bhs } = frame;
  return {
    ok: true,
    pdu: {
      opcode: Opcode.Snack,
      type: bhs[1] & 0x0f,
      lun: readLun(bhs),
      itt: readItt(bhs),
      ttt: bhs.readUInt32BE(20),
      expStatSn: bhs.readUInt32BE(28),
      begRun: bhs.readUInt32BE(40),
      runLength: bhs.readUInt32BE(44),
    },
  };
}
