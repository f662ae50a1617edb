import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CommandWindow } from '../../src/iscsi/command-window.js';
import { snAdd, snLt, snInWindow } from '../../src/iscsi/serial.js';

test('serial arithmetic wraps at 2^32 (RFC 1982)', () => {
  assert.equal(snAdd(0xffffffff, 1), 0);
  assert.ok(snLt(0xfffffff0, 5));
  assert.ok(!snLt(5, 0xfffffff0));
  assert.ok(snInWindow(2, 0xfffffffe, 10));
  assert.ok(!snInWindow(11, 0xfffffffe, 10));
});

test('window delivers in CmdSN order and queues ahead of a gap', () => {
  const w = new CommandWindow<string>(10, 4);
  assert.equal(w.maxCmdSn, 13);
  assert.equal(w.offer(11, 'b'), 'queued');
  assert.equal(w.offer(12, 'c'), 'queued');
  assert.equal(w.offer(10, 'a'), 'deliver');
  assert.deepEqual(w.drain(), ['b', 'c']);
  assert.equal(w.expCmdSn, 13);
});

test('window drops out-of-range and duplicate CmdSN', () => {
  const w = new CommandWindow<string>(100, 2);
  assert.equal(w.offer(99, 'old'), 'drop');
  assert.equal(w.offer(102, 'beyond MaxCmdSN'), 'drop');
  assert.equal(w.offer(101, 'x'), 'queued');
  assert.equal(w.offer(101, 'dup'), 'drop');
});

test('MaxCmdSN grows only as commands complete, bounding outstanding commands', () => {
  const w = new CommandWindow<number>(1, 2);
  assert.equal(w.offer(1, 1), 'deliver');
  assert.equal(w.offer(2, 2), 'deliver');
  assert.equal(w.offer(3, 3), 'drop', 'window full until a completion');
  w.complete();
  assert.equal(w.maxCmdSn, 3);
  assert.equal(w.offer(3, 3), 'deliver');
});

test('window works across the 32-bit wrap', () => {
  const w = new CommandWindow<number>(0xfffffffe, 8);
  for (let i = 0; i < 4; i++) assert.equal(w.offer(snAdd(0xfffffffe, i), i), 'deliver');
  assert.equal(w.expCmdSn, 2);
});

test('any arrival order of a full window drains to CmdSN order', () => {
  fc.assert(
    fc.property(fc.shuffledSubarray([0, 1, 2, 3, 4, 5, 6, 7], { minLength: 8, maxLength: 8 }), fc.nat(), (order, base) => {
      const start = base >>> 0;
      const w = new CommandWindow<number>(start, 8);
      const out: number[] = [];
      for (const i of order) {
        const v = w.offer(snAdd(start, i), i);
        if (v === 'deliver') out.push(i, ...w.drain());
      }
      assert.deepEqual(out, [0, 1, 2, 3, 4, 5, 6, 7]);
    }),
  );
});
