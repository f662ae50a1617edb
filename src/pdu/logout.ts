// Logout Request (RFC 7143 §11.14) and Logout Response (§11.15).
//
// Request                                  Response
//  0     .|I|0x06                            0     0x26
//  1     1|Reason Code(7)                    1     0x80
//                                            2     Response
//  16-19 Initiator Task Tag                  16-19 Initiator Task Tag
//  20-21 CID                                 20-23 reserved
//  24-27 CmdSN                               24-27 StatSN
//  28-31 ExpStatSN                           28-31 ExpCmdSN
//                                            32-35 MaxCmdSN
//                                            40-41 Time2Wait
//                                            42-43 Time2Retain
//  no data segment in either direction.

import { allocBhs, checkFrame, emptyBuffer, makeFrame, readImmediate, readItt } from './bhs.js';
import { Opcode } from './types.js';
import type { DecodeResult, Frame, LogoutReason, LogoutRequest, LogoutResponse } from './types.js';

export function encodeLogoutRequest(p: LogoutRequest): Frame {
  const bhs = allocBhs(Opcode.LogoutRequest, p.immediate);
  bhs[1] = 0x80 | (p.reason & 0x7f);
  bhs.writeUInt32BE(p.itt, 16);
  bhs.writeUInt16BE(p.cid, 20);
  bhs.writeUInt32BE(p.cmdSn, 24);
  bhs.writeUInt32BE(p.expStatSn, 28);
  return makeFrame(bhs, emptyBuffer(), emptyBuffer());
}

export function decodeLogoutRequest(frame: Frame): DecodeResult<LogoutRequest> {
  const bad = checkFrame(frame, Opcode.LogoutRequest, { name: 'Logout Request', allowData: false });
  if (bad) return bad;
  const { bhs } = frame;
  return {
    ok: true,
    pdu: {
      opcode: Opcode.LogoutRequest,
      immediate: readImmediate(bhs),
      reason: (bhs[1] & 0x7f) as LogoutReason,
      itt: readItt(bhs),
      cid: bhs.readUInt16BE(20),
      cmdSn: bhs.readUInt32BE(24),
      expStatSn: bhs.readUInt32BE(28),
    },
  };
}

export function encodeLogoutResponse(p: LogoutResponse): Frame {
  const bhs = allocBhs(Opcode.LogoutResponse);
  bhs[1] = 0x80;
  bhs[2] = p.response;
  bhs.writeUInt32BE(p.itt, 16);
  bhs.writeUInt32BE(p.statSn, 24);
  bhs.writeUInt32BE(p.expCmdSn, 28);
  bhs.writeUInt32BE(p.maxCmdSn, 32);
  bhs.writeUInt16BE(p.time2Wait, 40);
  bhs.writeUInt16BE(p.time2Retain, 42);
  return makeFrame(bhs, emptyBuffer(), emptyBuffer());
}

export function decodeLogoutResponse(frame: Frame): DecodeResult<LogoutResponse> {
  const bad = checkFrame(frame, Opcode.LogoutResponse, { name: 'Logout Response', allowData: false });
  if (bad) return bad;
  const { bhs } = frame;
  return {
    ok: true,
    pdu: {
      opcode: Opcode.LogoutResponse,
      response: bhs[2],
      itt: readItt(bhs),
      statSn: bhs.readUInt32BE(24),
      expCmdSn: bhs.readUInt32BE(28),
      maxCmdSn: bhs.readUInt32BE(32),
      time2Wait: bhs.readUInt16BE(40),
      time2Retain: bhs.readUInt16BE(42),
    },
  };
}
