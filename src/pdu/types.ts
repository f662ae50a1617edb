// iSCSI PDU model shared by target and initiator (RFC 7143 §11).
//
// A Frame is the wire unit after framing: the 48-byte BHS, the AHS bytes
// (TotalAHSLength*4) and the data segment without padding or digests. Data
// buffers are views into received chunks or into backstore buffers: nothing on
// the data path copies them.

export const BHS_LENGTH = 48;

export interface Frame {
  bhs: Buffer;
  ahs: Buffer;
  data: Buffer;
}

export enum Opcode {
  // initiator → target
  NopOut = 0x00,
  ScsiCommand = 0x01,
  TaskManagementRequest = 0x02,
  LoginRequest = 0x03,
  TextRequest = 0x04,
  DataOut = 0x05,
  LogoutRequest = 0x06,
  Snack = 0x10,
  // target → initiator
  NopIn = 0x20,
  ScsiResponse = 0x21,
  TaskManagementResponse = 0x22,
  LoginResponse = 0x23,
  TextResponse = 0x24,
  DataIn = 0x25,
  LogoutResponse = 0x26,
  ReadyToTransfer = 0x31,
  AsyncMessage = 0x32,
  Reject = 0x3f,
}

/** 0xffffffff: "reserved" Initiator/Target Task Tag (RFC 7143 §11.18.1, §11.19.1). */
export const RESERVED_TAG = 0xffffffff;

export interface NopOut {
  opcode: Opcode.NopOut;
  immediate: boolean;
  lun: Buffer;
  itt: number;
  ttt: number;
  cmdSn: number;
  expStatSn: number;
  data: Buffer;
}

export interface NopIn {
  opcode: Opcode.NopIn;
  lun: Buffer;
  itt: number;
  ttt: number;
  statSn: number;
  expCmdSn: number;
  maxCmdSn: number;
  data: Buffer;
}

export enum TaskAttribute {
  Untagged = 0,
  Simple = 1,
  Ordered = 2,
  HeadOfQueue = 3,
  Aca = 4,
}

export interface ScsiCommand {
  opcode: Opcode.ScsiCommand;
  immediate: boolean;
  final: boolean;
  read: boolean;
  write: boolean;
  attribute: TaskAttribute;
  lun: Buffer;
  itt: number;
  expectedDataTransferLength: number;
  cmdSn: number;
  expStatSn: number;
  /** The CDB: bytes 32-47 of the BHS, extended by an Extended-CDB AHS when present. */
  cdb: Buffer;
  /** Expected bidirectional read data length from a Bidirectional AHS, if any. */
  bidiReadLength?: number;
  data: Buffer;
}

export interface ScsiResponse {
  opcode: Opcode.ScsiResponse;
  bidiOverflow: boolean;
  bidiUnderflow: boolean;
  overflow: boolean;
  underflow: boolean;
  /** iSCSI service response: 0x00 command completed at target, 0x01 target failure. */
  response: number;
  status: number;
  itt: number;
  snackTag: number;
  statSn: number;
  expCmdSn: number;
  maxCmdSn: number;
  expDataSn: number;
  bidiReadResidualCount: number;
  residualCount: number;
  /** Sense data without the 2-byte SenseLength prefix (the codec adds/strips it). */
  sense: Buffer;
}

export enum TaskManagementFunction {
  AbortTask = 1,
  AbortTaskSet = 2,
  ClearAca = 3,
  ClearTaskSet = 4,
  LogicalUnitReset = 5,
  TargetWarmReset = 6,
  TargetColdReset = 7,
  TaskReassign = 8,
}

export enum TaskManagementResponseCode {
  FunctionComplete = 0,
  TaskDoesNotExist = 1,
  LunDoesNotExist = 2,
  TaskStillAllegiant = 3,
  TaskAllegianceReassignmentNotSupported = 4,
  FunctionNotSupported = 5,
  AuthorizationFailed = 6,
  FunctionRejected = 255,
}

export interface TaskManagementRequest {
  opcode: Opcode.TaskManagementRequest;
  immediate: boolean;
  function: TaskManagementFunction;
  lun: Buffer;
  itt: number;
  referencedTaskTag: number;
  cmdSn: number;
  expStatSn: number;
  refCmdSn: number;
  expDataSn: number;
}

export interface TaskManagementResponse {
  opcode: Opcode.TaskManagementResponse;
  response: TaskManagementResponseCode;
  itt: number;
  statSn: number;
  expCmdSn: number;
  maxCmdSn: number;
}

/** Login stages (RFC 7143 §11.12.3). */
export enum Stage {
  Security = 0,
  Operational = 1,
  FullFeature = 3,
}

export interface LoginRequest {
  opcode: Opcode.LoginRequest;
  transit: boolean;
  continue: boolean;
  csg: number;
  nsg: number;
  versionMax: number;
  versionMin: number;
  /** 6 bytes. */
  isid: Buffer;
  tsih: number;
  itt: number;
  cid: number;
  cmdSn: number;
  expStatSn: number;
  data: Buffer;
}

export interface LoginResponse {
  opcode: Opcode.LoginResponse;
  transit: boolean;
  continue: boolean;
  csg: number;
  nsg: number;
  versionMax: number;
  versionActive: number;
  isid: Buffer;
  tsih: number;
  itt: number;
  statSn: number;
  expCmdSn: number;
  maxCmdSn: number;
  statusClass: number;
  statusDetail: number;
  data: Buffer;
}

export interface TextRequest {
  opcode: Opcode.TextRequest;
  immediate: boolean;
  final: boolean;
  continue: boolean;
  lun: Buffer;
  itt: number;
  ttt: number;
  cmdSn: number;
  expStatSn: number;
  data: Buffer;
}

export interface TextResponse {
  opcode: Opcode.TextResponse;
  final: boolean;
  continue: boolean;
  lun: Buffer;
  itt: number;
  ttt: number;
  statSn: number;
  expCmdSn: number;
  maxCmdSn: number;
  data: Buffer;
}

export interface DataOut {
  opcode: Opcode.DataOut;
  final: boolean;
  lun: Buffer;
  itt: number;
  ttt: number;
  expStatSn: number;
  dataSn: number;
  bufferOffset: number;
  data: Buffer;
}

export interface DataIn {
  opcode: Opcode.DataIn;
  final: boolean;
  acknowledge: boolean;
  overflow: boolean;
  underflow: boolean;
  statusPresent: boolean;
  status: number;
  lun: Buffer;
  itt: number;
  ttt: number;
  statSn: number;
  expCmdSn: number;
  maxCmdSn: number;
  dataSn: number;
  bufferOffset: number;
  residualCount: number;
  data: Buffer;
}

export enum LogoutReason {
  CloseSession = 0,
  CloseConnection = 1,
  RemoveConnectionForRecovery = 2,
}

export interface LogoutRequest {
  opcode: Opcode.LogoutRequest;
  immediate: boolean;
  reason: LogoutReason;
  itt: number;
  cid: number;
  cmdSn: number;
  expStatSn: number;
}

export interface LogoutResponse {
  opcode: Opcode.LogoutResponse;
  response: number;
  itt: number;
  statSn: number;
  expCmdSn: number;
  maxCmdSn: number;
  time2Wait: number;
  time2Retain: number;
}

export interface ReadyToTransfer {
  opcode: Opcode.ReadyToTransfer;
  lun: Buffer;
  itt: number;
  ttt: number;
  statSn: number;
  expCmdSn: number;
  maxCmdSn: number;
  r2tSn: number;
  bufferOffset: number;
  desiredLength: number;
}

export interface AsyncMessage {
  opcode: Opcode.AsyncMessage;
  lun: Buffer;
  statSn: number;
  expCmdSn: number;
  maxCmdSn: number;
  asyncEvent: number;
  asyncVCode: number;
  parameter1: number;
  parameter2: number;
  parameter3: number;
  data: Buffer;
}

export enum RejectReason {
  DataDigestError = 0x02,
  SnackReject = 0x03,
  ProtocolError = 0x04,
  CommandNotSupported = 0x05,
  ImmediateCommandRejected = 0x06,
  TaskInProgress = 0x07,
  InvalidDataAck = 0x08,
  InvalidPduField = 0x09,
  LongOperationReject = 0x0a,
  NegotiationReset = 0x0b,
  WaitingForLogout = 0x0c,
}

export interface Reject {
  opcode: Opcode.Reject;
  reason: RejectReason;
  statSn: number;
  expCmdSn: number;
  maxCmdSn: number;
  dataSn: number;
  /** The complete header (BHS) of the rejected PDU. */
  data: Buffer;
}

export interface Snack {
  opcode: Opcode.Snack;
  type: number;
  lun: Buffer;
  itt: number;
  ttt: number;
  expStatSn: number;
  begRun: number;
  runLength: number;
}

export type InitiatorPdu =
  | NopOut
  | ScsiCommand
  | TaskManagementRequest
  | LoginRequest
  | TextRequest
  | DataOut
  | LogoutRequest
  | Snack;

export type TargetPdu =
  | NopIn
  | ScsiResponse
  | TaskManagementResponse
  | LoginResponse
  | TextResponse
  | DataIn
  | LogoutResponse
  | ReadyToTransfer
  | AsyncMessage
  | Reject;

export type Pdu = InitiatorPdu | TargetPdu;

/** Decoding never throws: a malformed frame is a value. */
export type DecodeResult<T> = { ok: true; pdu: T } | { ok: false; reason: RejectReason; message: string };
