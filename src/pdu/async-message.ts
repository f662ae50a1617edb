// Asynchronous Message (RFC 7143 §11.9).
//
//  0     0x32
//  1     0x80 (F)
//  5-7   DataSegmentLength
//  8-15  LUN (or reserved)
//  16-19 0xffffffff
//  24-27 StatSN
//  28-31 ExpCmdSN
//  32-35 MaxCmdSN
//  36    AsyncEvent
//  37    AsyncVCode
//  38-39 Parameter1
//  40-41 Parameter2
//  42-43 Parameter3
//  data  SenseLength(2) + sense data + iSCSI event data (§11.9.4), kept raw

import { allocBhs, checkFrame, emptyBuffer, makeFrame, readLun, writeLun } from './bhs.js';
import { Opcode, RESERVED_TAG } from './types.js';
import type { AsyncMessage, DecodeResult, Frame } from './types.js';

export function encodeAsyncMessage(p: AsyncMessage): Frame {
  const bhs = allocBhs(Opcode.AsyncMessage);
  bhs[1] = 0x80;
  writeLun(bhs, p.lun);
  bhs.writeUInt32BE(RESERVED_TAG, 16);
  bhs.writeUInt32BE(p.statSn, 24);
  bhs.writeUInt32BE(p.expCmdSn, 28);
  bhs.writeUInt32BE(p.maxCmdSn, 32);
  bhs[36] = p.asyncEvent;
  bhs[37] = p.asyncVCode;
  bhs.writeUInt16BE(p.parameter1, 38);
  bhs.writeUInt16BE(p.parameter2, 40);
  bhs.writeUInt16BE(p.parameter3, 42);
  return makeFrame(bhs, emptyBuffer(), p.data);
}

export function decodeAsyncMessage(frame: Frame): DecodeResult<AsyncMessage> {
  const bad = checkFrame(frame, Opcode.AsyncMessage, { name: 'Async Message' });
  if (bad) return bad;
  const { bhs } = frame;
  return {
    ok: true,
    pdu: {
      opcode: Opcode.AsyncMessage,
      lun: readLun(bhs),
      statSn: bhs.readUInt32BE(24),
      expCmdSn: bhs.readUInt32BE(28),
      maxCmdSn: bhs.readUInt32BE(32),
      asyncEvent: bhs[36],
      asyncVCode: bhs[37],
      parameter1: bhs.readUInt16BE(38),
      parameter2: bhs.readUInt16BE(40),
      parameter3: bhs.readUInt16BE(42),
      data: frame.data,
    },
  };
}
