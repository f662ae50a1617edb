// Login Request (RFC 7143 §11.12) and Login Response (§11.13).
//
// Request                                  Response
//  0     .|1|0x03 (I is always 1)            0     0x23
//  1     T|C|.|.|CSG(2)|NSG(2)               1     T|C|.|.|CSG(2)|NSG(2)
//  2     Version-max                         2     Version-max
//  3     Version-min                         3     Version-active
//  5-7   DataSegmentLength                   5-7   DataSegmentLength
//  8-13  ISID                                8-13  ISID
//  14-15 TSIH                                14-15 TSIH
//  16-19 Initiator Task Tag                  16-19 Initiator Task Tag
//  20-21 CID                                 20-23 reserved
//  24-27 CmdSN                               24-27 StatSN
//  28-31 ExpStatSN                           28-31 ExpCmdSN
//                                            32-35 MaxCmdSN
//                                            36    Status-Class
//                                            37    Status-Detail
//  data  text key=value pairs                data  text key=value pairs

import { allocBhs, checkFrame, emptyBuffer, makeFrame, readItt } from './bhs.js';
import { Opcode } from './types.js';
import type { DecodeResult, Frame, LoginRequest, LoginResponse } from './types.js';

function stageByte(transit: boolean, cont: boolean, csg: number, nsg: number): number {
  return (transit ? 0x80 : 0) | (cont ? 0x40 : 0) | ((csg & 3) << 2) | (nsg & 3);
}

export function encodeLoginRequest(p: LoginRequest): Frame {
  const bhs = allocBhs(Opcode.LoginRequest, true);
  bhs[1] = stageByte(p.transit, p.continue, p.csg, p.nsg);
  bhs[2] = p.versionMax;
  bhs[3] = p.versionMin;
  p.isid.copy(bhs, 8, 0, Math.min(6, p.isid.length));
  bhs.writeUInt16BE(p.tsih, 14);
  bhs.writeUInt32BE(p.itt, 16);
  bhs.writeUInt16BE(p.cid, 20);
  bhs.writeUInt32BE(p.cmdSn, 24);
  bhs.writeUInt32BE(p.expStatSn, 28);
  return makeFrame(bhs, emptyBuffer(), p.data);
}

export function decodeLoginRequest(frame: Frame): DecodeResult<LoginRequest> {
  const bad = checkFrame(frame, Opcode.LoginRequest, { name: 'Login Request' });
  if (bad) return bad;
  const { bhs } = frame;
  const b1 = bhs[1];
  return {
    ok: true,
    pdu: {
      opcode: Opcode.LoginRequest,
      transit: (b1 & 0x80) !== 0,
      continue: (b1 & 0x40) !== 0,
      csg: (b1 >> 2) & 3,
      nsg: b1 & 3,
      versionMax: bhs[2],
      versionMin: bhs[3],
      isid: bhs.subarray(8, 14),
      tsih: bhs.readUInt16BE(14),
      itt: readItt(bhs),
      cid: bhs.readUInt16BE(20),
      cmdSn: bhs.readUInt32BE(24),
      expStatSn: bhs.readUInt32BE(28),
      data: frame.data,
    },
  };
}

export function encodeLoginResponse(p: LoginResponse): Frame {
  const bhs = allocBhs(Opcode.LoginResponse);
  bhs[1] = stageByte(p.transit, p.continue, p.csg, p.nsg);
  bhs[2] = p.versionMax;
  bhs[3] = p.versionActive;
  p.isid.copy(bhs, 8, 0, Math.min(6, p.isid.length));
  bhs.writeUInt16BE(p.tsih, 14);
  bhs.writeUInt32BE(p.itt, 16);
  bhs.writeUInt32BE(p.statSn, 24);
  bhs.writeUInt32BE(p.expCmdSn, 28);
  bhs.writeUInt32BE(p.maxCmdSn, 32);
  bhs[36] = p.statusClass;
  bhs[37] = p.statusDetail;
  return makeFrame(bhs, emptyBuffer(), p.data);
}

export function decodeLoginResponse(frame: Frame): DecodeResult<LoginResponse> {
  const bad = checkFrame(frame, Opcode.LoginResponse, { name: 'Login Response' });
  if (bad) return bad;
  const { bhs } = frame;
  const b1 = bhs[1];
  return {
    ok: true,
    pdu: {
      opcode: Opcode.LoginResponse,
      transit: (b1 & 0x80) !== 0,
      continue: (b1 & 0x40) !== 0,
      csg: (b1 >> 2) & 3,
      nsg: b1 & 3,
      versionMax: bhs[2],
      versionActive: bhs[3],
      isid: bhs.subarray(8, 14),
      tsih: bhs.readUInt16BE(14),
      itt: readItt(bhs),
      statSn: bhs.readUInt32BE(24),
      expCmdSn: bhs.readUInt32BE(28),
      maxCmdSn: bhs.readUInt32BE(32),
      statusClass: bhs[36],
      statusDetail: bhs[37],
      data: frame.data,
    },
  };
}
