// Dispatching encoder: any Pdu → Frame (the per-type encoders do the work).

import { encodeAsyncMessage } from './async-message.js';
import { encodeDataIn } from './data-in.js';
import { encodeDataOut } from './data-out.js';
import { encodeLoginRequest, encodeLoginResponse } from './login.js';
import { encodeLogoutRequest, encodeLogoutResponse } from './logout.js';
import { encodeNopIn, encodeNopOut } from './nop.js';
import { encodeReadyToTransfer } from './r2t.js';
import { encodeReject } from './reject.js';
import { encodeScsiCommand } from './scsi-command.js';
import { encodeScsiResponse } from './scsi-response.js';
import { encodeSnack } from './snack.js';
import { encodeTaskManagementRequest, encodeTaskManagementResponse } from './task-management.js';
import { encodeTextRequest, encodeTextResponse } from './text.js';
import { Opcode } from './types.js';
import type { Frame, Pdu } from './types.js';

export function encodePdu(p: Pdu): Frame {
  switch (p.opcode) {
    case Opcode.NopOut:
      return encodeNopOut(p);
    case Opcode.ScsiCommand:
      return encodeScsiCommand(p);
    case Opcode.TaskManagementRequest:
      return encodeTaskManagementRequest(p);
    case Opcode.LoginRequest:
      return encodeLoginRequest(p);
    case Opcode.TextRequest:
      return encodeTextRequest(p);
    case Opcode.DataOut:
      return encodeDataOut(p);
    case Opcode.LogoutRequest:
      return encodeLogoutRequest(p);
    case Opcode.Snack:
      return encodeSnack(p);
    case Opcode.NopIn:
      return encodeNopIn(p);
    case Opcode.ScsiResponse:
      return encodeScsiResponse(p);
    case Opcode.TaskManagementResponse:
      return encodeTaskManagementResponse(p);
    case Opcode.LoginResponse:
      return encodeLoginResponse(p);
    case Opcode.TextResponse:
      return encodeTextResponse(p);
    case Opcode.DataIn:
      return encodeDataIn(p);
    case Opcode.LogoutResponse:
      return encodeLogoutResponse(p);
    case Opcode.ReadyToTransfer:
      return encodeReadyToTransfer(p);
    case Opcode.AsyncMessage:
      return encodeAsyncMessage(p);
    case Opcode.Reject:
      return encodeReject(p);
  }
}
