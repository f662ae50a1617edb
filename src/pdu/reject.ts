// Reject (RFC 7143 §11.17).
//
//  0     0x3f
//  1     0x80 (F)
//  2     Reason
//  5-7   DataSegmentLength (48: the rejected BHS)
//  16-19 0xffffffff
//  24-27 StatSN
//  28-31 ExpCmdSN
//  32-35 MaxCmdSN
//  36-39 DataSN/R2TSN (SNACK reject only, else 0)
//  data  complete header (BHS) of the rejected PDU

import { allocBhs, checkFrame, emptyBuffer, makeFrame } from './bhs.js';
import { Opcode, RESERVED_TAG } from './types.js';
import type { DecodeResult, Frame, Reject, RejectReason } from './types.js';

export function encodeReject(p: Reject): Frame {
  const bhs = allocBhs(Opcode.Reject);
  bhs[1] = 0x80;
  bhs[2] = p.reason;
  bhs.writeUInt32BE(RESERVED_TAG, 16);
  bhs.writeUInt32BE(p.statSn, 24);
  bhs.writeUInt32BE(p.expCmdSn, 28);
  bhs.writeUInt32BE(p.maxCmdSn, 32);
  bhs.writeUInt32BE(p.dataSn, 36);
  return makeFrame(bhs, emptyBuffer(), p.data);
}

export function decodeReject(frame: Frame): DecodeResult<Reject> {
  const bad = checkFrame(frame, Opcode.Reject, { name: 'Reject' });
  if (bad) return bad;
  const { bhs } = frame;
  return {
    ok: true,
    pdu: {
      opcode: Opcode.Reject,
      reason: bhs[2] as RejectReason,
      statSn: bhs.readUInt32BE(24),
      expCmdSn: bhs.readUInt32BE(28),
      maxCmdSn: bhs.readUInt32BE(32),
      dataSn: bhs.readUInt32BE(36),
      data: frame.data,
    },
  };
}
