// SCSI Command (RFC 7143 §11.3).
//
//  0     .|I|0x01
//  1     F|R|W|.|.|ATTR(3)
//  4     TotalAHSLength
//  5-7   DataSegmentLength (immediate data)
//  8-15  LUN
//  16-19 Initiator Task Tag
//  20-23 Expected Data Transfer Length
//  24-27 CmdSN
//  28-31 ExpStatSN
//  32-47 SCSI CDB (first 16 bytes)
//  AHS   Extended CDB (type 1, §11.3.5) and/or Bidirectional Read Expected
//        Data Transfer Length (type 2, §11.3.6)
//  data  immediate Data-Out
//
// AHS entry layout (§11.2.1.2): AHSLength(2) AHSType(1) AHS-specific(AHSLength),
// padded to a 4-byte boundary. AHSLength counts the AHS-specific bytes, which
// for both defined types start with one reserved byte.

import { allocBhs, checkFrame, emptyBuffer, makeFrame, readImmediate, readItt, readLun, writeLun } from './bhs.js';
import { Opcode, RejectReason } from './types.js';
import type { DecodeResult, Frame, ScsiCommand, TaskAttribute } from './types.js';

const AHS_EXTENDED_CDB = 1;
const AHS_BIDI_READ_LENGTH = 2;
const BASE_CDB_LENGTH = 16;

export function encodeScsiCommand(p: ScsiCommand): Frame {
  const bhs = allocBhs(Opcode.ScsiCommand, p.immediate);
  bhs[1] = (p.final ? 0x80 : 0) | (p.read ? 0x40 : 0) | (p.write ? 0x20 : 0) | (p.attribute & 0x07);
  writeLun(bhs, p.lun);
  bhs.writeUInt32BE(p.itt, 16);
  bhs.writeUInt32BE(p.expectedDataTransferLength, 20);
  bhs.writeUInt32BE(p.cmdSn, 24);
  bhs.writeUInt32BE(p.expStatSn, 28);
  p.cdb.copy(bhs, 32, 0, Math.min(BASE_CDB_LENGTH, p.cdb.length));

  const extra = Math.max(0, p.cdb.length - BASE_CDB_LENGTH);
  const ecdbSize = extra > 0 ? pad4(4 + extra) : 0;
  const bidiSize = p.bidiReadLength !== undefined ? 8 : 0;
  let ahs = emptyBuffer();
  if (ecdbSize + bidiSize > 0) {
    ahs = Buffer.alloc(ecdbSize + bidiSize);
    if (extra > 0) {
      ahs.writeUInt16BE(extra + 1, 0); // CDBLength - 15
      ahs[2] = AHS_EXTENDED_CDB;
      p.cdb.copy(ahs, 4, BASE_CDB_LENGTH);
    }
    if (p.bidiReadLength !== undefined) {
      ahs.writeUInt16BE(5, ecdbSize);
      ahs[ecdbSize + 2] = AHS_BIDI_READ_LENGTH;
      ahs.writeUInt32BE(p.bidiReadLength, ecdbSize + 4);
    }
  }
  return makeFrame(bhs, ahs, p.data);
}

export function decodeScsiCommand(frame: Frame): DecodeResult<ScsiCommand> {
  const bad = checkFrame(frame, Opcode.ScsiCommand, { name: 'SCSI Command', allowAhs: true });
  if (bad) return bad;
  const { bhs, ahs } = frame;
  const attribute = bhs[1] & 0x07;
  if (attribute > 4) {
    return { ok: false, reason: RejectReason.InvalidPduField, message: `reserved task attribute ${attribute}` };
  }

  let cdb = bhs.subarray(32, 48);
  let bidiReadLength: number | undefined;
  let seenEcdb = false;
  let off = 0;
  while (off < ahs.length) {
    if (ahs.length - off < 4) return badAhs('truncated AHS header');
    const len = ahs.readUInt16BE(off);
    const type = ahs[off + 2];
    const size = pad4(3 + len);
    if (len < 1 || off + size > ahs.length) return badAhs(`AHS type ${type} length ${len} overruns TotalAHSLength`);
    if (type === AHS_EXTENDED_CDB) {
      if (seenEcdb) return badAhs('duplicate Extended CDB AHS');
      seenEcdb = true;
      // The AHS-specific area is a reserved byte followed by CDB bytes 16.. (len - 1 of them).
      const full = Buffer.allocUnsafe(BASE_CDB_LENGTH + len - 1);
      bhs.copy(full, 0, 32, 48);
      ahs.copy(full, BASE_CDB_LENGTH, off + 4, off + 3 + len);
      cdb = full;
    } else if (type === AHS_BIDI_READ_LENGTH) {
      if (bidiReadLength !== undefined) return badAhs('duplicate Bidirectional AHS');
      if (len !== 5) return badAhs(`Bidirectional AHS length ${len}, expected 5`);
      bidiReadLength = ahs.readUInt32BE(off + 4);
    } else {
      return badAhs(`unsupported AHS type ${type}`);
    }
    off += size;
  }

  const pdu: ScsiCommand = {
    opcode: Opcode.ScsiCommand,
    immediate: readImmediate(bhs),
    final: (bhs[1] & 0x80) !== 0,
    read: (bhs[1] & 0x40) !== 0,
    write: (bhs[1] & 0x20) !== 0,
    attribute: attribute as TaskAttribute,
    lun: readLun(bhs),
    itt: readItt(bhs),
    expectedDataTransferLength: bhs.readUInt32BE(20),
    cmdSn: bhs.readUInt32BE(24),
    expStatSn: bhs.readUInt32BE(28),
    cdb,
    data: frame.data,
  };
  if (bidiReadLength !== undefined) pdu.bidiReadLength = bidiReadLength;
  return { ok: true, pdu };
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function badAhs(message: string): DecodeResult<ScsiCommand> {
  return { ok: false, reason: RejectReason.ProtocolError, message: `SCSI Command: ${message}` };
}
