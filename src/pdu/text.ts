// Text Request (RFC 7143 §11.10) and Text Response (§11.11).
//
// Request                                  Response
//  0     .|I|0x04                            0     0x24
//  1     F|C|......                          1     F|C|......
//  5-7   DataSegmentLength                   5-7   DataSegmentLength
//  8-15  LUN                                 8-15  LUN
//  16-19 Initiator Task Tag                  16-19 Initiator Task Tag
//  20-23 Target Transfer Tag                 20-23 Target Transfer Tag
//  24-27 CmdSN                               24-27 StatSN
//  28-31 ExpStatSN                           28-31 ExpCmdSN
//                                            32-35 MaxCmdSN
//  data  text key=value pairs (C=1: continued in the next PDU, §11.10.2)

import { allocBhs, checkFrame, emptyBuffer, makeFrame, readImmediate, readItt, readLun, writeLun } from './bhs.js';
import { Opcode } from './types.js';
import type { DecodeResult, Frame, TextRequest, TextResponse } from './types.js';

export function encodeTextRequest(p: TextRequest): Frame {
  const bhs = allocBhs(Opcode.TextRequest, p.immediate);
  bhs[1] = (p.final ? 0x80 : 0) | (p.continue ? 0x40 : 0);
  writeLun(bhs, p.lun);
  bhs.writeUInt32BE(p.itt, 16);
  bhs.writeUInt32BE(p.ttt, 20);
  bhs.writeUInt32BE(p.cmdSn, 24);
  bhs.writeUInt32BE(p.expStatSn, 28);
  return makeFrame(bhs, emptyBuffer(), p.data);
}

export function decodeTextRequest(frame: Frame): DecodeResult<TextRequest> {
  const bad = checkFrame(frame, Opcode.TextRequest, { name: 'Text Request' });
  if (bad) return bad;
  const { bhs } = frame;
  return {
    ok: true,
    pdu: {
      opcode: Opcode.TextRequest,
      immediate: readImmediate(bhs),
      final: (bhs[1] & 0x80) !== 0,
      continue: (bhs[1] & 0x40) !== 0,
      lun: readLun(bhs),
      itt: readItt(bhs),
      ttt: bhs.readUInt32BE(20),
      cmdSn: bhs.readUInt32BE(24),
      expStatSn: bhs.readUInt32BE(28),
      data: frame.data,
    },
  };
}

export function encodeTextResponse(p: TextResponse): Frame {
  const bhs = allocBhs(Opcode.TextResponse);
  bhs[1] = (p.final ? 0x80 : 0) | (p.continue ? 0x40 : 0);
  writeLun(bhs, p.lun);
  bhs.writeUInt32BE(p.itt, 16);
  bhs.writeUInt32BE(p.ttt, 20);
  bhs.writeUInt32BE(p.statSn, 24);
  bhs.writeUInt32BE(p.expCmdSn, 28);
  bhs.writeUInt32BE(p.maxCmdSn, 32);
  return makeFrame(bhs, emptyBuffer(), p.data);
}

export function decodeTextResponse(frame: Frame): DecodeResult<TextResponse> {
  const bad = checkFrame(frame, Opcode.TextResponse, { name: 'Text Response' });
  if (bad) return bad;
  const { bhs } = frame;
  return {
    ok: true,
    pdu: {
      opcode: Opcode.TextResponse,
      final: (bhs[1] & 0x80) !== 0,
      continue: (bhs[1] & 0x40) !== 0,
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
