// SCSI Response (RFC 7143 §11.4).
//
//  0     0x21
//  1     1|.|.|o|u|O|U|.     o=0x10 bidi overflow, u=0x08 bidi underflow,
//                            O=0x04 overflow, U=0x02 underflow
//  2     Response            3     Status
//  4     TotalAHSLength      5-7   DataSegmentLength
//  16-19 Initiator Task Tag
//  20-23 SNACK Tag
//  24-27 StatSN              28-31 ExpCmdSN          32-35 MaxCmdSN
//  36-39 ExpDataSN
//  40-43 Bidirectional Read Residual Count
//  44-47 Residual Count
//  data  SenseLength(2, BE) + sense data [+ response data] (§11.4.7)

import { allocBhs, checkFrame, emptyBuffer, makeFrame, readItt } from './bhs.js';
import { Opcode, RejectReason } from './types.js';
import type { DecodeResult, Frame, ScsiResponse } from './types.js';

export function encodeScsiResponse(p: ScsiResponse): Frame {
  const bhs = allocBhs(Opcode.ScsiResponse);
  bhs[1] =
    0x80 | (p.bidiOverflow ? 0x10 : 0) | (p.bidiUnderflow ? 0x08 : 0) | (p.overflow ? 0x04 : 0) | (p.underflow ? 0x02 : 0);
  bhs[2] = p.response;
  bhs[3] = p.status;
  bhs.writeUInt32BE(p.itt, 16);
  bhs.writeUInt32BE(p.snackTag, 20);
  bhs.writeUInt32BE(p.statSn, 24);
  bhs.writeUInt32BE(p.expCmdSn, 28);
  bhs.writeUInt32BE(p.maxCmdSn, 32);
  bhs.writeUInt32BE(p.expDataSn, 36);
  bhs.writeUInt32BE(p.bidiReadResidualCount, 40);
  bhs.writeUInt32BE(p.residualCount, 44);
  let data = emptyBuffer();
  if (p.sense.length > 0) {
    // Sense is small (<= 252 bytes per SPC-4), so prefixing by copy is cheap.
    data = Buffer.allocUnsafe(2 + p.sense.length);
    data.writeUInt16BE(p.sense.length, 0);
    p.sense.copy(data, 2);
  }
  return makeFrame(bhs, emptyBuffer(), data);
}

export function decodeScsiResponse(frame: Frame): DecodeResult<ScsiResponse> {
  const bad = checkFrame(frame, Opcode.ScsiResponse, { name: 'SCSI Response' });
  if (bad) return bad;
  const { bhs, data } = frame;
  let sense = emptyBuffer();
  if (data.length > 0) {
    if (data.length < 2) {
      return { ok: false, reason: RejectReason.ProtocolError, message: 'SCSI Response: data segment shorter than SenseLength' };
    }
    const senseLength = data.readUInt16BE(0);
    if (2 + senseLength > data.length) {
      return { ok: false, reason: RejectReason.ProtocolError, message: `SCSI Response: SenseLength ${senseLength} overruns data segment` };
    }
    // Any iSCSI response data after the sense is dropped (none is defined).
    sense = data.subarray(2, 2 + senseLength);
  }
  const b1 = bhs[1];
  return {
    ok: true,
    pdu: {
      opcode: Opcode.ScsiResponse,
      bidiOverflow: (b1 & 0x10) !== 0,
      bidiUnderflow: (b1 & 0x08) !== 0,
      overflow: (b1 & 0x04) !== 0,
      underflow: (b1 & 0x02) !== 0,
      response: bhs[2],
      status: bhs[3],
      itt: readItt(bhs),
      snackTag: bhs.readUInt32BE(20),
      statSn: bhs.readUInt32BE(24),
      expCmdSn: bhs.readUInt32BE(28),
      maxCmdSn: bhs.readUInt32BE(32),
      expDataSn: bhs.readUInt32BE(36),
      bidiReadResidualCount: bhs.readUInt32BE(40),
      residualCount: bhs.readUInt32BE(44),
      sense,
    },
  };
}
