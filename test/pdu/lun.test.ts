import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lunFromBuffer, lunToBuffer } from '../../src/pdu/index.js';

test('LUN < 256 uses peripheral device addressing', () => {
  assert.deepEqual(lunToBuffer(0), Buffer.from('0000000000000000', 'hex'));
  assert.deepEqual(lunToBuffer(1), Buffer.from('0001000000000000', 'hex'));
  assert.deepEqual(lunToBuffer(255), Buffer.from('00ff000000000000', 'hex'));
});

test('LUN >= 256 uses flat space addressing', () => {
  assert.deepEqual(lunToBuffer(256), Buffer.from('4100000000000000', 'hex'));
  assert.deepEqual(lunToBuffer(261), Buffer.from('4105000000000000', 'hex'));
  assert.deepEqual(lunToBuffer(0x3fff), Buffer.from('7fff000000000000', 'hex'));
  assert.throws(() => lunToBuffer(0x4000), RangeError);
  assert.throws(() => lunToBuffer(-1), RangeError);
});

test('lunFromBuffer decodes both methods and round-trips', () => {
  for (const n of [0, 1, 7, 255, 256, 1000, 0x3fff]) assert.equal(lunFromBuffer(lunToBuffer(n)), n);
  // Flat addressing of a small LUN is also accepted (Linux sends 0x40 00 for LUN 0 in some paths).
  assert.equal(lunFromBuffer(Buffer.from('4003000000000000', 'hex')), 3);
});

test('other addressing methods, other buses and multi-level LUNs are undefined', () => {
  assert.equal(lunFromBuffer(Buffer.from('8001000000000000', 'hex')), undefined, 'logical unit addressing');
  assert.equal(lunFromBuffer(Buffer.from('c001000000000000', 'hex')), undefined, 'extended addressing');
  assert.equal(lunFromBuffer(Buffer.from('0101000000000000', 'hex')), undefined, 'bus 1');
  assert.equal(lunFromBuffer(Buffer.from('0001000200000000', 'hex')), undefined, 'second level');
  assert.equal(lunFromBuffer(Buffer.from('0001', 'hex')), undefined, 'short');
});
