import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { U32Map } from '../../src/util/u32-map.js';
import { mapChurn, retainedFraction } from './gc-retention.js';

type Op = { kind: 'set'; key: number; value: number } | { kind: 'delete'; key: number } | { kind: 'clear' };

// Keys from a small range collide and form clusters (what backward-shift
// deletion must get right); some near 2^32 check the unsigned handling.
const key = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0xffffffe0, max: 0xffffffff }), fc.nat());
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), key, value: fc.integer() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('delete' as const), key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const)}) },
);

test('property: U32Map behaves as a Map<number, V> under any sequence of set / delete / clear', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const m = new U32Map<{ v: number }>();
      const ref = new Map<number, { v: number }>();
      for (const o of ops) {
        if (o.kind === 'set') {
          const v = { v: o.value };
          m.set(o.key, v);
          ref.set(o.key, v);
        } else if (o.kind === 'delete') {
          assert.equal(m.delete(o.key), ref.delete(o.key));
        } else {
          m.clear();
          ref.clear();
        }
        assert.equal(m.size, ref.size);
      }
      for (const [k, v] of ref) {
        assert.equal(m.get(k), v);
        assert.equal(m.has(k), true);
      }
      assert.deepEqual(new Set(m.keysSnapshot()), new Set(ref.keys()));
      assert.deepEqual(new Set(m.valuesSnapshot()), new Set(ref.values()));
      for (let k = 0; k <= 40; k++) assert.equal(m.get(k), ref.get(k));
    }),
    { numRuns: 300 },
  );
});

test('a sliding window of ITTs (insert one, remove the oldest) never loses an entry across wrap-around', () => {
  const m = new U32Map<{ itt: number }>();
  const live = new Map<number, { itt: number }>();
  for (let i = 0; i < 10_000; i++) {
    const itt = (0xfffff000 + i) >>> 0; // wraps past 2^32 - 1 to 0
    const v = { itt };
    m.set(itt, v);
    live.set(itt, v);
    if (live.size > 32) {
      const oldest = (itt - 32) >>> 0;
      assert.equal(m.delete(oldest), true);
      live.delete(oldest);
    }
    if (i % 997 === 0) for (const [k, v2] of live) assert.equal(m.get(k), v2);
  }
  assert.equal(m.size, 32);
});

test('keys are taken as unsigned 32-bit: -1 and 0xffffffff are the same key', () => {
  const m = new U32Map<string>();
  m.set(-1, 'a');
  assert.equal(m.get(0xffffffff), 'a');
  assert.equal(m.delete(0xffffffff), true);
  assert.equal(m.size, 0);
});

test('undefined cannot be stored (it marks free slots)', () => {
  const m = new U32Map<string | undefined>();
  assert.throws(() => m.set(1, undefined), /cannot hold undefined/);
  assert.equal(m.size, 0);
});

test('GC: entries that left do not outlive a scavenge (a JavaScript Map keeps them: the check can fail)', () => {
  const m = new U32Map<object>();
  const ours = retainedFraction({
    warm: () => {
      for (let i = 0; i < 8; i++) m.set(i, {});
    },
    step: (k, payload) => {
      m.set(k, payload());
      m.delete(k - 32);
    },
    drain: () => m.clear(),
  });
  const map = retainedFraction(mapChurn());
  assert.ok(map > 0.15, `calibration: a churned Map should keep a large share alive, kept ${map.toFixed(3)}`);
  assert.ok(ours < 0.08, `U32Map kept ${ours.toFixed(3)} of the churned bytes alive (Map: ${map.toFixed(3)})`);
});
