// Task Management Function Request (RFC 7143 §11.5) and Response (§11.6).
//
// Request                                 Response
//  0     .|I|0x02                           0     0x22
//  1     1|Function(7)                      1     0x80
//                                           2     Response
//  8-15  LUN                                8-15  reserved
//  16-19 Initiator Task Tag                 16-19 Initiator Task Tag
//  20-23 Referenced Task Tag                20-23 reserved
//  24-27 CmdSN                              24-27 StatSN
//  28-31 ExpStatSN                          28-31 ExpCmdSN
//  32-35 RefCmdSN                           32-35 MaxCmdSN
//  36-39 ExpDataSN
//  no data segment in either direction.
//
// Unknown function codes are decoded, not rejected: the target answers them
// with "Task management function not supported" (§11.6.1).

import { allocBhs, checkFrame, emptyBuffer, makeFrame, readImmediate, readItt, readLun, writeLun } from './bhs.js';
import { Opcode } from './types.js';
import type {
  DecodeResult,
  Frame,
  TaskManagementFunction,
  TaskManagementRequest,
  TaskManagementResponse,
  TaskManagementResponseCode,
} from './types.js';

export function encodeTaskManagementRequest(p: TaskManagementRequest): Frame {
  const bhs = allocBhs(Opcode.TaskManagementRequest, p.immediate);
  bhs[1] = 0x80 | (p.function & 0x7f);
  writeLun(bhs, p.lun);
  bhs.writeUInt32BE(p.itt, 16);
  bhs.writeUInt32BE(p.referencedTaskTag, 20);
  bhs.writeUInt32BE(p.cmdSn, 24);
  bhs.writeUInt32BE(p.expStatSn, 28);
  bhs.writeUInt32BE(p.refCmdSn, 32);
  bhs.writeUInt32BE(p.expDataSn, 36);
  return makeFrame(bhs, emptyBuffer(), emptyBuffer());
}

export function decodeTaskManagementRequest(frame: Frame): DecodeResult<TaskManagementRequest> {
  const bad = checkFrame(frame, Opcode.TaskManagementRequest, { name: 'Task Management Request', allowData: false });
  if (bad) return bad;
  const { bhs } = frame;
  return {
    ok: true,
    pdu: {
      opcode: Opcode.TaskManagementRequest,
      immediate: readImmediate(bhs),
      function: (bhs[1] & 0x7f) as TaskManagementFunction,
      lun: readLun(bhs),
      itt: readItt(bhs),
      referencedTaskTag: bhs.readUInt32BE(20),
      cmdSn: bhs.readUInt32BE(24),
      expStatSn: bhs.readUInt32BE(28),
      refCmdSn: bhs.readUInt32BE(32),
      expDataSn: bhs.readUInt32BE(36),
    },
  };
}

export function encodeTaskManagementResponse(p: TaskManagementResponse): Frame {
  const bhs = allocBhs(Opcode.TaskManagementResponse);
  bhs[1] = 0x80;
  bhs[2] = p.response;
  bhs.writeUInt32BE(p.itt, 16);
  bhs.writeUInt32BE(p.statSn, 24);
  bhs.writeUInt32BE(p.expCmdSn, 28);
  bhs.writeUInt32BE(p.maxCmdSn, 32);
  return makeFrame(bhs, emptyBuffer(), emptyBuffer());
}

export function decodeTaskManagementResponse(frame: Frame): DecodeResult<TaskManagementResponse> {
  const bad = checkFrame(frame, Opcode.TaskManagementResponse, { name: 'Task Management Response', allowData: false });
  if (bad) return bad;
  const { bhs } = frame;
  return {
    ok: true,
    pdu: {
      opcode: Opcode.TaskManagementResponse,
      response: bhs[2] as TaskManagementResponseCode,
      itt: readItt(bhs),
      statSn: bhs.readUInt32BE(24),
      expCmdSn: bhs.readUInt32BE(28),
      maxCmdSn: bhs.readUInt32BE(32),
    },
  };
}
