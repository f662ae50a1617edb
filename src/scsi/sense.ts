// Sense data (SPC-4 §4.5): reasons are data, one table maps them to
// {sense key, ASC, ASCQ}; builders produce fixed (70h) or descriptor (72h)
// format as selected by the control mode page D_SENSE bit.

export enum SenseKey {
  NoSense = 0x0,
  RecoveredError = 0x1,
  NotReady = 0x2,
  MediumError = 0x3,
  HardwareError = 0x4,
  IllegalRequest = 0x5,
  UnitAttention = 0x6,
  DataProtect = 0x7,
  BlankCheck = 0x8,
  AbortedCommand = 0xb,
  Miscompare = 0xe,
}

export enum SenseReason {
  NoSense,
  InvalidOpcode,
  InvalidFieldInCdb,
  InvalidFieldInParameterList,
  InvalidFieldInCommandIu,
  ParameterListLengthError,
  ParameterNotSupported,
  ParameterValueInvalid,
  LbaOutOfRange,
  LogicalUnitNotSupported,
  WriteProtected,
  MediumReadError,
  MediumWriteError,
  HardwareError,
  MiscompareDuringVerify,
  SavingParametersNotSupported,
  MediumNotPresent,
  NotReadyInitializingCommandRequired,
  NotReadyManualIntervention,
  MediumRemovalPrevented,
  PowerOnResetOccurred,
  PowerOnOccurred,
  ScsiBusResetOccurred,
  BusDeviceResetOccurred,
  ItNexusLossOccurred,
  ReportedLunsDataChanged,
  CapacityDataChanged,
  ModeParametersChanged,
  ReservationsReleased,
  RegistrationsPreempted,
  CommandsClearedByAnotherInitiator,
  InquiryDataChanged,
  InsufficientReservationResources,
  ReservationsPreempted,
  InvalidReleaseOfPersistentReservation,
  NotReadyToReadyChange,
  SanitizeInProgress,
  SanitizeCommandFailed,
  AsymmetricAccessStateChanged,
}

export interface SenseCode {
  readonly key: SenseKey;
  readonly asc: number;
  readonly ascq: number;
}

const c = (key: SenseKey, asc: number, ascq: number): SenseCode => ({ key, asc, ascq });

/** SPC-4 Annex D (ASC/ASCQ assignments). */
export const SENSE_CODES: Readonly<Record<SenseReason, SenseCode>> = {
  [SenseReason.NoSense]: c(SenseKey.NoSense, 0x00, 0x00),
  [SenseReason.InvalidOpcode]: c(SenseKey.IllegalRequest, 0x20, 0x00),
  [SenseReason.InvalidFieldInCdb]: c(SenseKey.IllegalRequest, 0x24, 0x00),
  [SenseReason.InvalidFieldInParameterList]: c(SenseKey.IllegalRequest, 0x26, 0x00),
  [SenseReason.InvalidFieldInCommandIu]: c(SenseKey.IllegalRequest, 0x0e, 0x03),
  [SenseReason.ParameterListLengthError]: c(SenseKey.IllegalRequest, 0x1a, 0x00),
  [SenseReason.ParameterNotSupported]: c(SenseKey.IllegalRequest, 0x26, 0x01),
  [SenseReason.ParameterValueInvalid]: c(SenseKey.IllegalRequest, 0x26, 0x02),
  [SenseReason.LbaOutOfRange]: c(SenseKey.IllegalRequest, 0x21, 0x00),
  [SenseReason.LogicalUnitNotSupported]: c(SenseKey.IllegalRequest, 0x25, 0x00),
  [SenseReason.WriteProtected]: c(SenseKey.DataProtect, 0x27, 0x00),
  [SenseReason.MediumReadError]: c(SenseKey.MediumError, 0x11, 0x00),
  [SenseReason.MediumWriteError]: c(SenseKey.MediumError, 0x0c, 0x00),
  [SenseReason.HardwareError]: c(SenseKey.HardwareError, 0x44, 0x00), // INTERNAL TARGET FAILURE
  [SenseReason.MiscompareDuringVerify]: c(SenseKey.Miscompare, 0x1d, 0x00),
  [SenseReason.SavingParametersNotSupported]: c(SenseKey.IllegalRequest, 0x39, 0x00),
  [SenseReason.MediumNotPresent]: c(SenseKey.NotReady, 0x3a, 0x00),
  [SenseReason.NotReadyInitializingCommandRequired]: c(SenseKey.NotReady, 0x04, 0x02),
  [SenseReason.NotReadyManualIntervention]: c(SenseKey.NotReady, 0x04, 0x03),
  [SenseReason.MediumRemovalPrevented]: c(SenseKey.IllegalRequest, 0x53, 0x02),
  [SenseReason.PowerOnResetOccurred]: c(SenseKey.UnitAttention, 0x29, 0x00),
  [SenseReason.PowerOnOccurred]: c(SenseKey.UnitAttention, 0x29, 0x01),
  [SenseReason.ScsiBusResetOccurred]: c(SenseKey.UnitAttention, 0x29, 0x02),
  [SenseReason.BusDeviceResetOccurred]: c(SenseKey.UnitAttention, 0x29, 0x03),
  [SenseReason.ItNexusLossOccurred]: c(SenseKey.UnitAttention, 0x29, 0x07),
  [SenseReason.ReportedLunsDataChanged]: c(SenseKey.UnitAttention, 0x3f, 0x0e),
  [SenseReason.InquiryDataChanged]: c(SenseKey.UnitAttention, 0x3f, 0x03),
  [SenseReason.CapacityDataChanged]: c(SenseKey.UnitAttention, 0x2a, 0x09),
  [SenseReason.ModeParametersChanged]: c(SenseKey.UnitAttention, 0x2a, 0x01),
  [SenseReason.ReservationsReleased]: c(SenseKey.UnitAttention, 0x2a, 0x04),
  [SenseReason.RegistrationsPreempted]: c(SenseKey.UnitAttention, 0x2a, 0x05),
  [SenseReason.CommandsClearedByAnotherInitiator]: c(SenseKey.UnitAttention, 0x2f, 0x00),
  [SenseReason.InsufficientReservationResources]: c(SenseKey.IllegalRequest, 0x55, 0x04),
  [SenseReason.ReservationsPreempted]: c(SenseKey.UnitAttention, 0x2a, 0x03),
  [SenseReason.InvalidReleaseOfPersistentReservation]: c(SenseKey.IllegalRequest, 0x26, 0x04),
  [SenseReason.NotReadyToReadyChange]: c(SenseKey.UnitAttention, 0x28, 0x00), // MEDIUM MAY HAVE CHANGED
  [SenseReason.SanitizeInProgress]: c(SenseKey.NotReady, 0x04, 0x1b),
  [SenseReason.SanitizeCommandFailed]: c(SenseKey.MediumError, 0x31, 0x03),
  [SenseReason.AsymmetricAccessStateChanged]: c(SenseKey.UnitAttention, 0x2a, 0x06),
};

/** SPC-4 §4.5.2.4.2 sense-key specific field pointer (for ILLEGAL REQUEST). */
export interface FieldPointer {
  /** true: the error is in the CDB (C/D=1); false: in the parameter list. */
  readonly inCdb: boolean;
  /** Byte offset of the offending field. */
  readonly byte: number;
  /** Bit number (0..7) of the field's most significant bit, if meaningful (BPV=1). */
  readonly bit?: number;
}

/** A command's failure expressed as data; the dispatcher renders it as sense. */
export interface SenseFailure {
  readonly kind: 'sense';
  readonly reason: SenseReason;
  readonly field?: FieldPointer;
  /** INFORMATION field (e.g. offset of the miscompare, LBA of a medium error). */
  readonly information?: number;
}

export function failure(reason: SenseReason, extra?: { field?: FieldPointer; information?: number }): SenseFailure {
  return { kind: 'sense', reason, field: extra?.field, information: extra?.information };
}

export function invalidCdbField(byte: number, bit?: number): SenseFailure {
  return failure(SenseReason.InvalidFieldInCdb, { field: { inCdb: true, byte, bit } });
}

export function invalidParameterField(byte: number, bit?: number): SenseFailure {
  return failure(SenseReason.InvalidFieldInParameterList, { field: { inCdb: false, byte, bit } });
}

export function isSenseFailure(value: unknown): value is SenseFailure {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'sense';
}

export interface SenseOptions {
  readonly descriptor: boolean;
  readonly field?: FieldPointer;
  readonly information?: number;
}

function senseKeySpecific(field: FieldPointer): Buffer {
  const sks = Buffer.alloc(3);
  let b0 = 0x80; // SKSV
  if (field.inCdb) b0 |= 0x40;
  if (field.bit !== undefined) b0 |= 0x08 | (field.bit & 0x07);
  sks[0] = b0;
  sks.writeUInt16BE(field.byte & 0xffff, 1);
  return sks;
}

/** Build sense data (fixed format 70h or descriptor format 72h, current error). */
export function buildSense(reason: SenseReason, options: SenseOptions): Buffer {
  return buildSenseFromCode(SENSE_CODES[reason], options);
}

export function buildSenseFromCode(code: SenseCode, options: SenseOptions): Buffer {
  const info = options.information;
  const hasInfo = info !== undefined && info >= 0 && Number.isSafeInteger(info);
  if (!options.descriptor) {
    const b = Buffer.alloc(18);
    b[0] = 0x70 | (hasInfo ? 0x80 : 0);
    b[2] = code.key & 0x0f;
    if (hasInfo) b.writeUInt32BE(info % 0x1_0000_0000, 3);
    b[7] = 10;
    b[12] = code.asc;
    b[13] = code.ascq;
    if (options.field) senseKeySpecific(options.field).copy(b, 15);
    return b;
  }
  const descriptors: Buffer[] = [];
  if (hasInfo) {
    const d = Buffer.alloc(12);
    d[0] = 0x00;
    d[1] = 0x0a;
    d[2] = 0x80;
    d.writeBigUInt64BE(BigInt(info), 4);
    descriptors.push(d);
  }
  if (options.field) {
    const d = Buffer.alloc(8);
    d[0] = 0x02;
    d[1] = 0x06;
    senseKeySpecific(options.field).copy(d, 4);
    descriptors.push(d);
  }
  const body = Buffer.concat(descriptors);
  const b = Buffer.alloc(8 + body.length);
  b[0] = 0x72;
  b[1] = code.key & 0x0f;
  b[2] = code.asc;
  b[3] = code.ascq;
  b[7] = body.length;
  body.copy(b, 8);
  return b;
}

export function renderFailure(f: SenseFailure, descriptor: boolean): Buffer {
  return buildSense(f.reason, { descriptor, field: f.field, information: f.information });
}

/** Decoded view of sense data (tests and logging). */
export interface ParsedSense {
  readonly format: 'fixed' | 'descriptor';
  readonly key: number;
  readonly asc: number;
  readonly ascq: number;
  readonly information?: number;
  readonly sks?: Buffer;
}

export function parseSense(b: Buffer): ParsedSense | undefined {
  if (b.length < 8) return undefined;
  const code = b[0] & 0x7f;
  if (code === 0x70 || code === 0x71) {
    if (b.length < 14) return undefined;
    const valid = (b[0] & 0x80) !== 0;
    const sks = b.length >= 18 && (b[15] & 0x80) !== 0 ? b.subarray(15, 18) : undefined;
    return { format: 'fixed', key: b[2] & 0x0f, asc: b[12], ascq: b[13], information: valid ? b.readUInt32BE(3) : undefined, sks };
  }
  if (code === 0x72 || code === 0x73) {
    let information: number | undefined;
    let sks: Buffer | undefined;
    const end = Math.min(b.length, 8 + b[7]);
    for (let p = 8; p + 2 <= end; p += 2 + b[p + 1]) {
      if (b[p] === 0x00 && p + 12 <= end && (b[p + 2] & 0x80) !== 0) information = Number(b.readBigUInt64BE(p + 4));
      if (b[p] === 0x02 && p + 7 <= end) sks = b.subarray(p + 4, p + 7);
    }
    return { format: 'descriptor', key: b[1] & 0x0f, asc: b[2], ascq: b[3], information, sks };
  }
  return undefined;
}
