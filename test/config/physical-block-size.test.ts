// Storage attribute physical_block_size (tsgt extension): a power of two, at
// least block_size, at most block_size × 2^15; errors name the path and rule.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { defaultConfig } from '../../src/config/defaults.js';
import { validateConfig } from '../../src/config/validate.js';
import { storagePhysicalBlockSize } from '../../src/config/medium.js';
import type { Attributes } from '../../src/config/model.js';

const PATH = 'storage_objects[0].attributes.physical_block_size';

function check(attributes: Attributes) {
  const c = defaultConfig('/var/lib/tsgt', 'host');
  c.storage_objects[0].attributes = { ...c.storage_objects[0].attributes, ...attributes };
  return validateConfig(c);
}

function errorsAt(attributes: Attributes) {
  const r = check(attributes);
  return r.ok ? [] : r.errors.filter((e) => e.path === PATH);
}

test('valid physical_block_size values pass and are read back', () => {
  for (const [block_size, physical_block_size] of [[512, 512], [512, 4096], [512, 512 * 2 ** 15], [4096, 4096], [4096, 65536], [4096, 4096 * 2 ** 15]]) {
    const r = check({ block_size, physical_block_size });
    assert.ok(r.ok, `${block_size}/${physical_block_size}: ${JSON.stringify(!r.ok && r.errors)}`);
    assert.equal(storagePhysicalBlockSize(r.config.storage_objects[0]), physical_block_size);
  }
  const plain = check({});
  assert.ok(plain.ok);
  assert.equal(storagePhysicalBlockSize(plain.config.storage_objects[0]), undefined, 'absent: the LU default');
});

test('not a power of two: refused with the path and rule', () => {
  for (const v of [3000, 1536, 4097, 0, -4096]) {
    const errors = errorsAt({ physical_block_size: v });
    assert.equal(errors.length, 1, String(v));
    assert.equal(errors[0].rule, 'physical-block-size');
    assert.match(errors[0].message, new RegExp(`^${PATH.replace(/[[\].]/g, '\\$&')}: physical_block_size=${v} must be a power of two`));
  }
});

test('smaller than block_size: refused, naming block_size', () => {
  const errors = errorsAt({ block_size: 4096, physical_block_size: 2048 });
  assert.equal(errors.length, 1);
  assert.equal(errors[0].rule, 'physical-block-size');
  assert.match(errors[0].message, /physical_block_size=2048 must be at least block_size \(4096\)/);
  // Default block_size 512: 256 is too small as well.
  assert.match(errorsAt({ physical_block_size: 256 })[0]?.message ?? '', /at least block_size \(512\)/);
});

test('more than 2^15 logical blocks per physical block: refused, naming the limit', () => {
  const errors = errorsAt({ block_size: 512, physical_block_size: 512 * 2 ** 16 });
  assert.equal(errors.length, 1);
  assert.equal(errors[0].rule, 'physical-block-size');
  assert.match(errors[0].message, /must be at most block_size × 2\^15 \(16777216\)/);
  assert.equal(errorsAt({ block_size: 4096, physical_block_size: 4096 * 2 ** 15 }).length, 0, '4096 × 2^15 is fine over 4096-byte blocks');
});

test('not an integer: refused as an attribute value', () => {
  const r = check({ physical_block_size: '4096k' });
  assert.ok(!r.ok && r.errors.some((e) => e.path === PATH && e.rule === 'attribute-value'));
});

test('an invalid block_size is reported once; physical_block_size is then checked against 512', () => {
  const r = check({ block_size: 1000, physical_block_size: 4096 });
  assert.ok(!r.ok);
  assert.deepEqual(r.errors.map((e) => e.rule), ['block-size']);
});

test('property: accepted exactly when a power-of-two multiple of block_size within 2^15 blocks', () => {
  fc.assert(
    fc.property(fc.constantFrom(512, 4096), fc.integer({ min: 1, max: 2 ** 28 }), (block_size, physical_block_size) => {
      const n = physical_block_size / block_size;
      const valid = Number.isInteger(n) && n >= 1 && n <= 2 ** 15 && (n & (n - 1)) === 0;
      assert.equal(check({ block_size, physical_block_size }).ok, valid, `${block_size}/${physical_block_size}`);
    }),
    { numRuns: 300 },
  );
});
