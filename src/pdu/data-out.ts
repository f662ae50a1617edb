// SCSI Data-Out (RFC 7143 §11.7).
//
//  0     0x05
//  1     F|.......
//  5-7   DataSegmentLength
//  8-15  LUN
//  16-19 Initiator Task Tag
//  20-23 Target Transfer Tag (0xffffffff for unsolicited data)
//  24-27 reserved
//  28-31 ExpStatSN
//  32-35 reserved
//  36-39 DataSN
//  40-43 Buffer Offset
//  44-47 reserved
//  data  write data (referenced, never copied)

import { allocBhs, checkFrame, makeFrame, readItt, readLun, writeLun, emptyBuffer } from './bhs.js';
import { Opcode } from './types.js';
import type { DataOut, DecodeResult, Frame } from './types.js';

export function encodeDataOut(p: DataOut): Frame {
  const bhs = allocBhs(Opcode.DataOut);
  bhs[1] = p.final ? 0x80 : 0;
  writeLun(bhs, p.lun);
  bhs.writeUInt32BE(p.itt, 16);
  bhs.writeUInt32BE(p.ttt, 20);
  bhs.writeUInt32BE(p.expStatSn, 28);
  bhs.writeUInt32BE(p.dataSn, 36);
  bhs.writeUInt32BE(p.bufferOffset, 40);
  return makeFrame(bhs, emptyBuffer(), p.data);
}

export function decodeDataOut(frame: Frame): DecodeResult<DataOut> {
  const bad = checkFrame(frame, Opcode.DataOut, { name: 'SCSI Data-Out' });
  if (bad) return bad;
  const { bhs } = frame;
  return {
    ok: true,
    pdu: {
      opcode: Opcode.DataOut,
      final: (bhs[1] & 0x80) !== 0,
      lun: readLun(bhs),
      itt: readItt(bhs),
      ttt: bhs.readUInt32BE(20),
      expStatSn: bhs.readUInt32BE(28),
      dataSn: bhs.readUInt32BE(36),
      bufferOffset: bhs.readUInt32BE(40),
      data: frame.data,
    },
  };
}
