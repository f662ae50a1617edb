import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSense, parseSense, SenseReason, SENSE_CODES } from '../../src/scsi/sense.js';

test('fixed format sense: LBA OUT OF RANGE', () => {
  const b = buildSense(SenseReason.LbaOutOfRange, { descriptor: false });
  assert.equal(b.length, 18);
  assert.equal(b[0], 0x70);
  assert.equal(b[2], 0x05);
  assert.equal(b[7], 10);
  assert.equal(b[12], 0x21);
  assert.equal(b[13], 0x00);
  assert.equal(b[15], 0);
});

test('fixed format sense with field pointer and INFORMATION', () => {
  const b = buildSense(SenseReason.InvalidFieldInCdb, { descriptor: false, field: { inCdb: true, byte: 2, bit: 7 }, information: 0x1234 });
  assert.equal(b[0], 0xf0); // VALID | 70h
  assert.equal(b.readUInt32BE(3), 0x1234);
  assert.equal(b[15], 0x80 | 0x40 | 0x08 | 7);
  assert.equal(b.readUInt16BE(16), 2);
  const p = parseSense(b);
  assert.deepEqual([p?.key, p?.asc, p?.ascq, p?.information], [5, 0x24, 0, 0x1234]);
});

test('descriptor format sense carries information and SKS descriptors', () => {
  const b = buildSense(SenseReason.MiscompareDuringVerify, { descriptor: true, information: 513 });
  assert.equal(b[0], 0x72);
  assert.equal(b[1], 0x0e);
  assert.equal(b[2], 0x1d);
  assert.equal(b[7], 12);
  assert.equal(b[8], 0x00);
  assert.equal(b[9], 0x0a);
  assert.equal(b[10], 0x80);
  assert.equal(Number(b.readBigUInt64BE(12)), 513);
  const f = buildSense(SenseReason.InvalidFieldInParameterList, { descriptor: true, field: { inCdb: false, byte: 9 } });
  assert.equal(f[7], 8);
  assert.equal(f[8], 0x02);
  assert.equal(f[12], 0x80);
  assert.equal(f.readUInt16BE(13), 9);
  assert.equal(parseSense(f)?.format, 'descriptor');
});

test('sense table covers every reason with a valid key', () => {
  for (const v of Object.values(SenseReason)) {
    if (typeof v !== 'number') continue;
    const code = SENSE_CODES[v as SenseReason];
    assert.ok(code !== undefined, `reason ${v}`);
    assert.ok(code.key >= 0 && code.key <= 0xf);
  }
  assert.deepEqual(SENSE_CODES[SenseReason.ItNexusLossOccurred], { key: 6, asc: 0x29, ascq: 0x07 });
  assert.deepEqual(SENSE_CODES[SenseReason.InvalidFieldInCommandIu], { key: 5, asc: 0x0e, ascq: 0x03 });
});
