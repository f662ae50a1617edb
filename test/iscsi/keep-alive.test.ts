import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeepAlive } from '../../src/iscsi/keep-alive.js';
import { RESERVED_TAG } from '../../src/pdu/types.js';

const opts = { nopInInterval: 5, nopInTimeout: 30, loginTimeout: 15 };

test('keep-alive: a ping after nop_in_interval of silence, fail after nop_in_timeout unanswered', () => {
  const k = new KeepAlive(opts, 0);
  assert.deepEqual(k.check(4_999), { kind: 'ok' });
  assert.deepEqual(k.check(5_000), { kind: 'ping' });
  k.pinged(7, 5_000);
  // One ping at a time: no second ping while one is outstanding, however long the silence.
  assert.deepEqual(k.check(20_000), { kind: 'ok' });
  assert.deepEqual(k.check(35_000), { kind: 'ok' });
  assert.deepEqual(k.check(35_001), { kind: 'fail', reason: 'NOP-In ping timed out' });
});

test('keep-alive: only the outstanding TTT settles a ping; traffic postpones the next one', () => {
  const k = new KeepAlive(opts, 0);
  k.pinged(7, 5_000);
  assert.equal(k.answered(RESERVED_TAG), false);
  assert.equal(k.answered(8), false);
  assert.equal(k.answered(7), true);
  assert.equal(k.answered(7), false, 'settled once');
  k.received(6_000);
  assert.deepEqual(k.check(10_999), { kind: 'ok' });
  assert.deepEqual(k.check(11_000), { kind: 'ping' });
});

test('keep-alive: nop_in_interval 0 never pings; the login timeout counts from the last PDU', () => {
  const k = new KeepAlive({ ...opts, nopInInterval: 0 }, 0);
  assert.deepEqual(k.check(1e9), { kind: 'ok' });
  assert.equal(k.loginExpired(15_000), false);
  assert.equal(k.loginExpired(15_001), true);
  k.received(10_000);
  assert.equal(k.loginExpired(25_000), false);
});
