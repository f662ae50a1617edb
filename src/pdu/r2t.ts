// Ready To Transfer, R2T (RFC 7143 §11.8).
//
//  0     0x31
//  1     0x80 (F)
//  8-15  LUN
//  16-19 Initiator Task Tag
//  20-23 Target Transfer Tag
//  24-27 StatSN (not advanced by R2T)
//  28-31 ExpCmdSN
//  32-35 MaxCmdSN
//  36-39 R2TSN
//  40-43 Buffer Offset
//  44-47 Desired Data Transfer Length
//  no data segment.

import { allocBhs, checkFrame, emptyBuffer, makeFrame, readItt, readLun, writeLun } from './bhs.js';
import { Opcode } from './types.js';
import type { DecodeResult, Frame, ReadyToTransfer } from './types.js';

export function encodeReadyToTransfer(p: ReadyToTransfer): Frame {
  const bhs = allocBhs(Opcode.ReadyToTransfer);
  bhs[1] = 0x80;
  writeLun(bhs, p.lun);
  bhs.writeUInt32BE(p.itt, 16);
  bhs.writeUInt32BE(p.ttt, 20);
  bhs.writeUInt32BE(p.statSn, 24);
  bhs.writeUInt32BE(p.expCmdSn, 28);
  bhs.writeUInt32BE(p.maxCmdSn, 32);
  bhs.writeUInt32BE(p.r2tSn, 36);
  bhs.writeUInt32BE(p.bufferOffset, 40);
  bhs.writeUInt32BE(p.desiredLength, 44);
  return makeFrame(bhs, emptyBuffer(), emptyBuffer());
}

export function decodeReadyToTransfer(frame: Frame): DecodeResult<ReadyToTransfer> {
  const bad = checkFrame(frame, Opcode.ReadyToTransfer, { name: 'R2T', allowData: false });
  if (bad) return bad;
  const { bhs } = frame;
  return {
    ok: true,
    pdu: {
      opcode: Opcode.ReadyToTransfer,
      lun: readLun(bhs),
      itt: readItt(bhs),
      ttt: bhs.readUInt32BE(20),
      statSn: bhs.readUInt32BE(24),
      expCmdSn: bhs.readUInt32BE(28),
      maxCmdSn: bhs.readUInt32BE(32),
      r2tSn: bhs.readUInt32BE(36),
      bufferOffset: bhs.readUInt32BE(40),
      desiredLength: bhs.readUInt32BE(44),
    },
  };
}
