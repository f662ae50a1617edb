// Opcode dispatch for received frames (RFC 7143 §11.2.1.2 opcode table).

import { readOpcode } from './bhs.js';
import { decodeAsyncMessage } from './async-message.js';
import { decodeDataIn } from './data-in.js';
import { decodeDataOut } from './data-out.js';
import { decodeLoginRequest, decodeLoginResponse } from './login.js';
import { decodeLogoutRequest, decodeLogoutResponse } from './logout.js';
import { decodeNopIn, decodeNopOut } from './nop.js';
import { decodeReadyToTransfer } from './r2t.js';
import { decodeReject } from './reject.js';
import { decodeScsiCommand } from './scsi-command.js';
import { decodeScsiResponse } from './scsi-response.js';
import { decodeSnack } from './snack.js';
import { decodeTaskManagementRequest, decodeTaskManagementResponse } from './task-management.js';
import { decodeTextRequest, decodeTextResponse } from './text.js';
import { BHS_LENGTH, Opcode, RejectReason } from './types.js';
import type { DecodeResult, Frame, InitiatorPdu, Pdu } from './types.js';

export function decodePdu(frame: Frame): DecodeResult<Pdu> {
  if (frame.bhs.length !== BHS_LENGTH) {
    return { ok: false, reason: RejectReason.ProtocolError, message: `BHS must be ${BHS_LENGTH} bytes, got ${frame.bhs.length}` };
  }
  const opcode = readOpcode(frame.bhs);
  switch (opcode) {
    case Opcode.NopOut:
      return decodeNopOut(frame);
    case Opcode.ScsiCommand:
      return decodeScsiCommand(frame);
    case Opcode.TaskManagementRequest:
      return decodeTaskManagementRequest(frame);
    case Opcode.LoginRequest:
      return decodeLoginRequest(frame);
    case Opcode.TextRequest:
      return decodeTextRequest(frame);
    case Opcode.DataOut:
      return decodeDataOut(frame);
    case Opcode.LogoutRequest:
      return decodeLogoutRequest(frame);
    case Opcode.Snack:
      return decodeSnack(frame);
    case Opcode.NopIn:
      return decodeNopIn(frame);
    case Opcode.ScsiResponse:
      return decodeScsiResponse(frame);
    case Opcode.TaskManagementResponse:
      return decodeTaskManagementResponse(frame);
    case Opcode.LoginResponse:
      return decodeLoginResponse(frame);
    case Opcode.TextResponse:
      return decodeTextResponse(frame);
    case Opcode.DataIn:
      return decodeDataIn(frame);
    case Opcode.LogoutResponse:
      return decodeLogoutResponse(frame);
    case Opcode.ReadyToTransfer:
      return decodeReadyToTransfer(frame);
    case Opcode.AsyncMessage:
      return decodeAsyncMessage(frame);
    case Opcode.Reject:
      return decodeReject(frame);
    default:
      return {
        ok: false,
        reason: RejectReason.CommandNotSupported,
        message: `unsupported opcode 0x${opcode.toString(16).padStart(2, '0')}`,
      };
  }
}

/** Is this a target→initiator opcode (bit 0x20 set, RFC 7143 §11.2.1.2)? */
export function isTargetOpcode(opcode: number): boolean {
  return (opcode & 0x20) !== 0;
}

/** What a target accepts: target opcodes arriving from an initiator are a protocol error. */
export function decodeInitiatorPdu(frame: Frame): DecodeResult<InitiatorPdu> {
  if (frame.bhs.length === BHS_LENGTH) {
    const opcode = readOpcode(frame.bhs);
    if (isTargetOpcode(opcode)) {
      return {
        ok: false,
        reason: RejectReason.ProtocolError,
        message: `target opcode 0x${opcode.toString(16)} received from an initiator`,
      };
    }
  }
  return decodePdu(frame) as DecodeResult<InitiatorPdu>;
}
