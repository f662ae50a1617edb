// The task set's ordering rules (SAM-5 §8.6, and overlapping block I/O kept in
// arrival order), its bookkeeping as tasks leave, and that departed tasks are
// not kept alive by the GC (src/util/u32-map.ts explains why that matters).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { TaskAttribute } from '../../src/scsi/api.js';
import { TaskSet } from '../../src/scsi/task-set.js';
import type { BlockExtent, TaskEntry } from '../../src/scsi/task-set.js';
import { retainedFraction } from '../util/gc-retention.js';

const read = (lba: number, blocks = 8): BlockExtent => ({ lba, blocks, write: false });
const write = (lba: number, blocks = 8): BlockExtent => ({ lba, blocks, write: true });

test('HEAD OF QUEUE waits for nothing; ORDERED waits for every older task; SIMPLE waits for older ORDERED ones', () => {
  const set = new TaskSet();
  const a = set.admit('n', 1, 'simple', read(0));
  const o = set.admit('n', 2, 'ordered', undefined);
  assert.equal(o.waitFor?.length, 1);
  assert.equal(set.admit('n', 3, 'head-of-queue', write(0)).waitFor, undefined);
  const s = set.admit('n', 4, 'simple', read(100));
  assert.deepEqual(s.waitFor, [o.finished]);
  set.leave(o);
  assert.equal(set.admit('n', 5, 'simple', read(200)).waitFor, undefined, 'no ORDERED task left');
  set.leave(a);
});

test('overlapping block I/O waits when either side writes; reads beside reads and disjoint writes do not', () => {
  const set = new TaskSet();
  const w = set.admit('n', 1, 'simple', write(10, 10));
  assert.equal(set.admit('n', 2, 'simple', read(0, 10)).waitFor, undefined, 'disjoint: ends where the write starts');
  assert.equal(set.admit('n', 3, 'simple', read(19, 1)).waitFor?.length, 1, 'last block overlaps');
  assert.equal(set.admit('n', 4, 'simple', write(25, 5)).waitFor, undefined);
  assert.equal(set.admit('n', 5, 'simple', undefined).waitFor, undefined, 'no extent: nothing to overlap');
  set.leave(w);
  assert.equal(set.admit('n', 6, 'simple', read(10, 10)).waitFor, undefined, 'the write left: reads beside reads');
  assert.equal(set.admit('n', 7, 'simple', write(19, 1)).waitFor?.length, 2, 'a write waits for both overlapping reads (tasks 3 and 6)');
});

test('leave is idempotent; find and select see tasks oldest first and forget them when they leave', () => {
  const set = new TaskSet();
  const e = [1, 2, 3, 4].map((tag) => set.admit(tag % 2 ? 'x' : 'y', tag, 'simple', undefined));
  set.leave(e[1]);
  set.leave(e[1]);
  assert.equal(set.size, 3);
  assert.deepEqual(set.select(() => true).map((t) => t.tag), [1, 3, 4]);
  assert.equal(set.find('y', 2), undefined);
  assert.equal(set.find('y', 4), e[3]);
  set.leave(e[0]);
  set.leave(e[3]);
  assert.deepEqual(set.select(() => true).map((t) => t.tag), [3]);
  new TaskSet().leave(e[2]);
  assert.equal(set.size, 1, 'another set cannot remove it');
  set.leave(e[2]);
  assert.equal(set.size, 0);
  assert.deepEqual(set.select(() => true), []);
  assert.equal(set.admit('x', 9, 'ordered', undefined).waitFor, undefined, 'empty again');
});

// The reference: the rules applied to every older task, with no shortcut.
function expectedWaits(older: readonly { attribute: TaskAttribute; extent: BlockExtent | undefined }[], attribute: TaskAttribute, extent: BlockExtent | undefined): number {
  if (attribute === 'head-of-queue') return 0;
  let n = 0;
  for (const e of older) {
    if (attribute === 'ordered' || e.attribute === 'ordered') n++;
    else if (extent && e.extent && (extent.write || e.extent.write) && extent.lba < e.extent.lba + e.extent.blocks && e.extent.lba < extent.lba + extent.blocks) n++;
  }
  return n;
}

test('property: after any sequence of admissions and departures, a task waits for exactly the tasks the rules name', () => {
  const attribute = fc.constantFrom<TaskAttribute>('simple', 'simple', 'simple', 'ordered', 'head-of-queue');
  const extent = fc.option(fc.record({ lba: fc.integer({ min: 0, max: 64 }), blocks: fc.integer({ min: 1, max: 16 }), write: fc.boolean() }), { nil: undefined });
  const step = fc.oneof(fc.record({ admit: fc.constant(true), attribute, extent }), fc.record({ admit: fc.constant(false), pick: fc.nat() }));
  fc.assert(
    fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
      const set = new TaskSet();
      const live: TaskEntry[] = [];
      let tag = 0;
      for (const s of steps) {
        if (s.admit) {
          const e = set.admit('n', tag++, s.attribute, s.extent);
          assert.equal(e.waitFor?.length ?? 0, expectedWaits(live, s.attribute, s.extent));
          live.push(e);
        } else if (live.length > 0) {
          const [gone] = live.splice(s.pick % live.length, 1);
          set.leave(gone);
        }
        assert.equal(set.size, live.length);
      }
      assert.deepEqual(set.select(() => true), live);
    }),
    { numRuns: 300 },
  );
});

test('GC: tasks that left the set do not outlive a scavenge', () => {
  const set = new TaskSet();
  const window: TaskEntry[] = [];
  const fraction = retainedFraction({
    warm: () => {
      for (let i = 0; i < 8; i++) set.leave(set.admit('n', i, 'simple', undefined));
    },
    step: (k, payload) => {
      // The payload rides on the extent, which the entry holds.
      window.push(set.admit('n', k, 'simple', Object.assign(payload(), read(k % 1000, 1))));
      if (window.length > 32) set.leave(window.shift() as TaskEntry);
    },
    drain: () => {
      for (const e of window) set.leave(e);
      window.length = 0;
    },
  });
  assert.ok(fraction < 0.08, `the task set kept ${fraction.toFixed(3)} of the churned bytes alive`);
});
