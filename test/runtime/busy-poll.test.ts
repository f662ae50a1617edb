import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BusyPoll, GROW_START, type BusyPollClock } from '../../src/runtime/busy-poll.js';

/** A clock whose time only moves when told, and whose immediates run when the test turns the loop. */
class FakeLoop implements BusyPollClock {
  t = 1000;
  queue: (() => void)[] = [];
  turns = 0;
  now(): number {
    return this.t;
  }
  immediate(fn: () => void): void {
    this.queue.push(fn);
  }
  /** Advance by `us` µs, one loop turn per µs while something is queued. */
  advance(us: number): void {
    const end = this.t + us / 1000;
    while (this.t < end) {
      this.t = Math.min(end, this.t + 0.001);
      const q = this.queue;
      this.queue = [];
      for (const fn of q) {
        this.turns++;
        fn();
      }
    }
  }
}

/** `n` reads `gapMicros` apart. */
function reads(loop: FakeLoop, bp: BusyPoll, n: number, gapMicros: number): void {
  for (let i = 0; i < n; i++) {
    loop.advance(gapMicros);
    bp.activity();
  }
}

test('BusyPoll: steady request/response traffic grows the window to the maximum and stays there', () => {
  const loop = new FakeLoop();
  const bp = new BusyPoll(100, loop);
  bp.activity();
  assert.equal(bp.windowMicros, 0, 'the first read has no previous gap to judge by');
  const seen: number[] = [];
  for (let i = 0; i < 8; i++) {
    loop.advance(40);
    bp.activity();
    seen.push(bp.windowMicros);
  }
  assert.deepEqual(seen.slice(0, 4), [GROW_START, 2 * GROW_START, 4 * GROW_START, 8 * GROW_START]);
  assert.equal(seen.at(-1), 100, 'capped at maxMicros');
  assert.ok(bp.spinning, 'a 40 µs gap is caught by a 100 µs window');
  loop.advance(40);
  bp.activity();
  assert.equal(bp.windowMicros, 100, 'a read caught while polling keeps the window');
});

test('BusyPoll: the loop keeps turning for the window after a read, then sleeps', () => {
  const loop = new FakeLoop();
  const bp = new BusyPoll(100, loop);
  reads(loop, bp, 10, 30);
  assert.equal(bp.windowMicros, 100);
  const before = loop.turns;
  loop.advance(99);
  assert.ok(bp.spinning, 'still polling inside the window');
  assert.ok(loop.turns - before >= 90, `the loop turned ${loop.turns - before} times in 99 µs`);
  loop.advance(5);
  assert.equal(bp.spinning, false, 'stops once the window has passed without a read');
  assert.equal(loop.queue.length, 0, 'nothing left scheduled: the loop may sleep');
});

test('BusyPoll: sparse traffic shrinks the window to zero and never spins', () => {
  const loop = new FakeLoop();
  const bp = new BusyPoll(100, loop);
  reads(loop, bp, 10, 30);
  assert.equal(bp.windowMicros, 100);
  const windows: number[] = [];
  for (let i = 0; i < 6; i++) {
    loop.advance(1000);
    bp.activity();
    windows.push(bp.windowMicros);
  }
  assert.deepEqual(windows, [50, 25, 12.5, 0, 0, 0]);
  assert.equal(bp.spinning, false);
  loop.advance(1000);
  assert.equal(loop.queue.length, 0);
});

test('BusyPoll: 0 disables it; a negative or non-finite window is refused', () => {
  const loop = new FakeLoop();
  const bp = new BusyPoll(0, loop);
  reads(loop, bp, 10, 5);
  assert.equal(bp.windowMicros, 0);
  assert.equal(loop.queue.length, 0);
  assert.throws(() => new BusyPoll(-1), RangeError);
  assert.throws(() => new BusyPoll(Number.NaN), RangeError);
});

test('BusyPoll: a window below GROW_START still polls (max smaller than the first step)', () => {
  const loop = new FakeLoop();
  const bp = new BusyPoll(5, loop);
  bp.activity();
  loop.advance(3);
  bp.activity();
  assert.equal(bp.windowMicros, 5);
  assert.ok(bp.spinning);
});
