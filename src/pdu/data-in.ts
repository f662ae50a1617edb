// SCSI Data-In (RFC 7143 §11.7).
//
//  0     0x25
//  1     F|A|.|.|.|O|U|S    F=0x80 A=0x40 (acknowledge) O=0x04 U=0x02 S=0x01
//  3     Status (valid only when S=1)
//  5-7   DataSegmentLength
//  8-15  LUN (or reserved)
//  16-19 Initiator Task Tag
//  20-23 Target Transfer Tag
//  24-27 StatSN (valid only when S=1)
//  28-31 ExpCmdSN
//  32-35 MaxCmdSN
//  36-39 DataSN
//  40-43 Buffer Offset
//  44-47 Residual Count (valid only when S=1)
//  data  read data (referenced, never copied)

import { allocBhs, checkFrame, emptyBuffer, makeFrame, readItt, readLun, writeLun } from './bhs.js';
import { Opcode } from './types.js';
import type { DataIn, DecodeResult, Frame } from './types.js';

export function encodeDataIn(p: DataIn): Frame {
  const bhs = allocBhs(Opcode.DataIn);
  bhs[1] =
    (p.final ? 0x80 : 0) |
    (p.acknowledge ? 0x40 : 0) |
    (p.overflow ? 0x04 : 0) |
    (p.underflow ? 0x02 : 0) |
    (p.statusPresent ? 0x01 : 0);
  bhs[3] = p.status;
  writeLun(bhs, p.lun);
  bhs.writeUInt32BE(p.itt, 16);
  bhs.writeUInt32BE(p.ttt, 20);
  bhs.writeUInt32BE(p.statSn, 24);
  bhs.writeUInt32BE(p.expCmdSn, 28);
  bhs.writeUInt32BE(p.maxCmdSn, 32);
  bhs.writeUInt32BE(p.dataSn, 36);
  bhs.writeUInt32BE(p.bufferOffset, 40);
  bhs.writeUInt32BE(p.residualCount, 44);
  return makeFrame(bhs, emptyBuffer(), p.data);
}

export function decodeDataIn(frame: Frame): DecodeResult<DataIn> {
  const bad = checkFrame(frame, Opcode.DataIn, { name: 'SCSI Data-In' });
  if (bad) return bad;
  const { bhs } = frame;
  const b1 = bhs[1];
  return {
    ok: true,
    pdu: {
      opcode: Opcode.DataIn,
      final: (b1 & 0x80) !== 0,
      acknowledge: (b1 & 0x40) !== 0,
      overflow: (b1 & 0x04) !== 0,
      underflow: (b1 & 0x02) !== 0,
      statusPresent: (b1 & 0x01) !== 0,
      status: bhs[3],
      lun: readLun(bhs),
      itt: readItt(bhs),
      ttt: bhs.readUInt32BE(20),
      statSn: bhs.readUInt32BE(24),
      expCmdSn: bhs.readUInt32BE(28),
      maxCmdSn: bhs.readUInt32BE(32),
      dataSn: bhs.readUInt32BE(36),
      bufferOffset: bhs.readUInt32BE(40),
      residualCount: bhs.readUInt32BE(44),
      data: frame.data,
    },
  };
}
