import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFixture, loadFixtures } from './fixtures.js';
import {
  BHS_LENGTH,
  Opcode,
  RejectReason,
  decodeInitiatorPdu,
  decodePdu,
  decodeScsiCommand,
  decodeScsiResponse,
  decodeTaskManagementRequest,
  encodePdu,
  encodeScsiCommand,
  encodeScsiResponse,
  readDataSegmentLength,
  readImmediate,
  readItt,
  readOpcode,
  readTotalAhsLength,
  writeDataSegmentLength,
} from '../../src/pdu/index.js';
import type { Frame, ScsiCommand, ScsiResponse } from '../../src/pdu/index.js';

const fixtures = loadFixtures();

test('every PDU type has at least one golden fixture', () => {
  const seen = new Set(fixtures.map((f) => f.expected.opcode));
  for (const op of Object.values(Opcode).filter((v): v is number => typeof v === 'number')) {
    assert.ok(seen.has(op), `no fixture for opcode 0x${op.toString(16)}`);
  }
});

for (const fx of fixtures) {
  test(`golden ${fx.name}: decode matches JSON`, () => {
    const r = decodePdu(fx.frame);
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.deepEqual(r.pdu, fx.expected);
  });

  test(`golden ${fx.name}: encode reproduces the bytes`, () => {
    const frame = encodePdu(fx.expected);
    assert.deepEqual(frame.bhs, fx.frame.bhs);
    assert.deepEqual(frame.ahs, fx.frame.ahs);
    assert.deepEqual(frame.data, fx.frame.data);
  });
}

test('BHS accessors read the common header fields', () => {
  const { frame } = loadFixture('scsi-command-write10');
  assert.equal(readOpcode(frame.bhs), Opcode.ScsiCommand);
  assert.equal(readImmediate(frame.bhs), false);
  assert.equal(readItt(frame.bhs), 0x2b);
  assert.equal(readTotalAhsLength(frame.bhs), 0);
  assert.equal(readDataSegmentLength(frame.bhs), 512);
  const ext = loadFixture('scsi-command-ext-cdb').frame.bhs;
  assert.equal(readTotalAhsLength(ext), 28);
  assert.equal(readImmediate(ext), true);
  const b = Buffer.alloc(48);
  writeDataSegmentLength(b, 0xabcdef);
  assert.deepEqual([...b.subarray(5, 8)], [0xab, 0xcd, 0xef]);
  assert.equal(readDataSegmentLength(b), 0xabcdef);
  assert.throws(() => writeDataSegmentLength(b, 0x1000000), RangeError);
});

test('data segments are referenced, not copied', () => {
  const { frame, expected } = loadFixture('scsi-command-write10');
  const r = decodeScsiCommand(frame);
  assert.ok(r.ok);
  assert.equal(r.pdu.data, frame.data);
  const enc = encodeScsiCommand(expected as ScsiCommand);
  assert.equal(enc.data, (expected as ScsiCommand).data);
  assert.equal(enc.bhs.length, BHS_LENGTH);
});

test('unknown opcode is CommandNotSupported', () => {
  const { frame } = loadFixture('nop-in-ping');
  const bhs = Buffer.from(frame.bhs);
  bhs[0] = 0x1c;
  const r = decodePdu({ ...frame, bhs });
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.reason, RejectReason.CommandNotSupported);
});

test('decodeInitiatorPdu refuses target opcodes with ProtocolError and accepts initiator ones', () => {
  for (const fx of fixtures) {
    const r = decodeInitiatorPdu(fx.frame);
    if (fx.expected.opcode & 0x20) {
      assert.equal(r.ok, false, fx.name);
      assert.equal(!r.ok && r.reason, RejectReason.ProtocolError, fx.name);
    } else {
      assert.ok(r.ok, fx.name);
    }
  }
});

test('BHS of the wrong size and lengths disagreeing with the header are ProtocolError', () => {
  const { frame } = loadFixture('data-out');
  const short = decodePdu({ ...frame, bhs: frame.bhs.subarray(0, 40) });
  assert.equal(!short.ok && short.reason, RejectReason.ProtocolError);
  const wrongData = decodePdu({ ...frame, data: frame.data.subarray(1) });
  assert.equal(!wrongData.ok && wrongData.reason, RejectReason.ProtocolError);
});

function withAhs(base: Frame, ahs: Buffer): Frame {
  const bhs = Buffer.from(base.bhs);
  bhs[4] = ahs.length / 4;
  return { bhs, ahs, data: base.data };
}

test('SCSI Command: malformed AHS layouts are ProtocolError', () => {
  const { frame } = loadFixture('scsi-command-inquiry');
  const cases: Array<[string, Buffer]> = [
    ['AHSLength overruns', Buffer.from('00200100' + '00'.repeat(4), 'hex')],
    ['AHSLength 0', Buffer.from('00000100', 'hex')],
    ['unknown AHS type', Buffer.from('00010300', 'hex')],
    ['bidi AHS with wrong length', Buffer.from('000902000000020000000000', 'hex')],
    ['duplicate bidi AHS', Buffer.from('0005020000000200' + '0005020000000200', 'hex')],
    ['duplicate extended CDB', Buffer.from('00050100aabbccdd' + '00050100aabbccdd', 'hex')],
  ];
  for (const [what, ahs] of cases) {
    const r = decodeScsiCommand(withAhs(frame, ahs));
    assert.equal(r.ok, false, what);
    assert.equal(!r.ok && r.reason, RejectReason.ProtocolError, what);
  }
});

test('SCSI Command: extended CDB of odd length round-trips through AHS padding', () => {
  const base = loadFixture('scsi-command-inquiry').expected as ScsiCommand;
  const cdb = Buffer.from(Array.from({ length: 18 }, (_, i) => i + 1));
  const frame = encodeScsiCommand({ ...base, cdb });
  // 4-byte AHS header + 2 extra CDB bytes, padded to 8; AHSLength = 18 - 15.
  assert.deepEqual(frame.ahs, Buffer.from('0003010011120000', 'hex'));
  const r = decodeScsiCommand(frame);
  assert.ok(r.ok);
  assert.deepEqual(r.pdu.cdb, cdb);
  assert.equal(r.pdu.bidiReadLength, undefined);
});

test('SCSI Command: a CDB shorter than 16 bytes is zero-filled in the BHS', () => {
  const base = loadFixture('scsi-command-inquiry').expected as ScsiCommand;
  const frame = encodeScsiCommand({ ...base, cdb: Buffer.from('120000002400', 'hex') });
  assert.deepEqual(frame.bhs, loadFixture('scsi-command-inquiry').frame.bhs);
});

test('SCSI Command: reserved task attribute is InvalidPduField', () => {
  const { frame } = loadFixture('scsi-command-inquiry');
  const bhs = Buffer.from(frame.bhs);
  bhs[1] = (bhs[1] & ~7) | 5;
  const r = decodeScsiCommand({ ...frame, bhs });
  assert.equal(!r.ok && r.reason, RejectReason.InvalidPduField);
});

test('SCSI Response: SenseLength prefix is added and stripped', () => {
  const base = loadFixture('scsi-response-good').expected as ScsiResponse;
  const sense = Buffer.from('7000060000000000', 'hex');
  const frame = encodeScsiResponse({ ...base, sense });
  assert.deepEqual(frame.data, Buffer.concat([Buffer.from([0, 8]), sense]));
  assert.equal(readDataSegmentLength(frame.bhs), 10);
  const r = decodeScsiResponse(frame);
  assert.ok(r.ok);
  assert.deepEqual(r.pdu.sense, sense);
  assert.equal(encodeScsiResponse(base).data.length, 0);
});

test('SCSI Response: SenseLength beyond the segment or a 1-byte segment is ProtocolError', () => {
  const { frame } = loadFixture('scsi-response-good');
  for (const data of [Buffer.from([0x00, 0x09, 1, 2, 3, 4, 5, 6]), Buffer.from([0])]) {
    const bhs = Buffer.from(frame.bhs);
    writeDataSegmentLength(bhs, data.length);
    const r = decodeScsiResponse({ bhs, ahs: frame.ahs, data });
    assert.equal(!r.ok && r.reason, RejectReason.ProtocolError);
  }
});

test('PDUs without a data segment refuse one; non-command PDUs refuse an AHS', () => {
  const { frame } = loadFixture('task-management-request');
  const bhs = Buffer.from(frame.bhs);
  writeDataSegmentLength(bhs, 4);
  const r = decodeTaskManagementRequest({ bhs, ahs: frame.ahs, data: Buffer.alloc(4) });
  assert.equal(!r.ok && r.reason, RejectReason.ProtocolError);
  const nop = loadFixture('nop-out-ping').frame;
  const r2 = decodePdu(withAhs(nop, Buffer.from('00050200', 'hex')));
  assert.equal(!r2.ok && r2.reason, RejectReason.ProtocolError);
});

test('Login: stage bits and the always-set I bit', () => {
  const { frame, expected } = loadFixture('login-request-operational');
  assert.equal(frame.bhs[0], 0x43);
  assert.equal(encodePdu(expected).bhs[0], 0x43);
  const bhs = Buffer.from(frame.bhs);
  bhs[1] = 0x40 | (1 << 2) | 1; // C=1 CSG=1 NSG=1
  const r = decodePdu({ ...frame, bhs });
  assert.ok(r.ok && r.pdu.opcode === Opcode.LoginRequest);
  assert.equal(r.pdu.transit, false);
  assert.equal(r.pdu.continue, true);
  assert.equal(r.pdu.csg, 1);
  assert.equal(r.pdu.nsg, 1);
});
