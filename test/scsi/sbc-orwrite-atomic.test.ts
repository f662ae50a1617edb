import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fixture, clearUnitAttentions, run, sense, cdb16 } from './harness.js';
import type { MemoryDeviceOptions } from './memory-device.js';
import { isSenseFailure, SenseReason } from '../../src/scsi/sense.js';
import { orInto } from '../../src/scsi/sbc/orwrite.js';
import { checkAtomicLimits, parseWriteAtomic } from '../../src/scsi/sbc/write-atomic.js';

const ORWRITE = 0x8b;
const WRITE_ATOMIC = 0x9c;

async function ready(opts: MemoryDeviceOptions & { writeProtect?: boolean } = {}) {
  const f = fixture(opts);
  const n = f.open('a');
  await clearUnitAttentions(n);
  return { f, n };
}

/** WRITE ATOMIC (16): TRANSFER LENGTH is bytes 12..13, ATOMIC BOUNDARY bytes 10..11. */
function wa16(lba: bigint, blocks: number, flags = 0, boundary = 0): Buffer {
  const b = Buffer.alloc(16);
  b[0] = WRITE_ATOMIC;
  b[1] = flags;
  b.writeBigUInt64BE(lba, 2);
  b.writeUInt16BE(boundary, 10);
  b.writeUInt16BE(blocks, 12);
  return b;
}

test('ORWRITE(16) ORs the Data-Out into the medium (libiscsi test_orwrite_verify)', async () => {
  const { f, n } = await ready();
  f.dev.bytes.fill(0xa5, 3 * 512, 5 * 512);
  const r = await run(n, cdb16(ORWRITE, 3n, 2), { data: Buffer.alloc(1024, 0x5a) });
  assert.equal(r.status, 0);
  assert.ok(f.dev.bytes.subarray(3 * 512, 5 * 512).every((b) => b === 0xff));
  assert.equal(f.dev.bytes[5 * 512], 0);
  const ops = f.dev.log.slice(-2);
  assert.deepEqual(ops, [
    { op: 'read', lba: 3, blocks: 2 },
    { op: 'write', lba: 3, blocks: 2, fua: false },
  ]);
});

test('ORWRITE(16): ORPROTECT → INVALID FIELD IN CDB; beyond end → LBA OUT OF RANGE; 0 blocks → GOOD without I/O; FUA passes', async () => {
  const { f, n } = await ready({ blockCount: 100 });
  const before = f.dev.log.length;
  for (let p = 1; p < 8; p++) {
    const s = sense(await run(n, cdb16(ORWRITE, 0n, 1, p << 5), { data: Buffer.alloc(512, 1) }));
    assert.deepEqual([s.key, s.asc], [0x05, 0x24]);
  }
  for (const [lba, blocks] of [
    [100n, 1],
    [99n, 2],
    [1n << 63n, 1],
    [(1n << 64n) - 1n, 1],
    [101n, 0],
  ] as const) {
    const s = sense(await run(n, cdb16(ORWRITE, lba, blocks), { data: Buffer.alloc(blocks * 512, 1) }));
    assert.deepEqual([s.key, s.asc], [0x05, 0x21]);
  }
  assert.equal((await run(n, cdb16(ORWRITE, 0n, 0), { edtl: 0, direction: 'none' })).status, 0);
  assert.equal(f.dev.log.length, before);
  assert.equal((await run(n, cdb16(ORWRITE, 1n, 1, 0x18), { data: Buffer.alloc(512, 1) })).status, 0);
  assert.equal(f.dev.log.at(-1)?.fua, true);
});

test('ORWRITE(16) with EDTL covering fewer blocks works on the blocks sent, like WRITE', async () => {
  const { f, n } = await ready();
  f.dev.bytes.fill(0x0f, 0, 4 * 512);
  const r = await run(n, cdb16(ORWRITE, 0n, 4), { data: Buffer.alloc(1024, 0xf0) });
  assert.equal(r.status, 0);
  assert.equal(r.transferLength, 2048);
  assert.ok(f.dev.bytes.subarray(0, 1024).every((b) => b === 0xff));
  assert.ok(f.dev.bytes.subarray(1024, 2048).every((b) => b === 0x0f));
});

test('property: orInto equals a byte-wise OR over any iovec split', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.integer({ min: 0, max: 200 }), (t, d, cut) => {
      const n = Math.min(t.length, d.length);
      const target = Buffer.from(t.subarray(0, n));
      const data = Buffer.from(d.subarray(0, n));
      const at = Math.min(cut, n);
      const expected = Buffer.from(target.map((x, i) => x | data[i]));
      orInto(target, [data.subarray(0, at), data.subarray(at)]);
      assert.ok(target.equals(expected));
    }),
  );
});

test('WRITE ATOMIC(16) writes the whole range in one backstore write, FUA honoured', async () => {
  const { f, n } = await ready();
  const data = Buffer.alloc(3 * 512, 0x77);
  const r = await run(n, wa16(9n, 3, 0x18), { data });
  assert.equal(r.status, 0);
  assert.deepEqual(f.dev.log.at(-1), { op: 'write', lba: 9, blocks: 3, fua: true });
  assert.ok(f.dev.bytes.subarray(9 * 512, 12 * 512).equals(data));
});

test('WRITE ATOMIC(16): WRPROTECT / ATOMIC BOUNDARY → INVALID FIELD IN CDB; beyond end → LBA OUT OF RANGE; 0 blocks GOOD', async () => {
  const { f, n } = await ready({ blockCount: 100 });
  const before = f.dev.log.length;
  for (let p = 1; p < 8; p++) {
    const s = sense(await run(n, wa16(0n, 1, p << 5), { data: Buffer.alloc(512) }));
    assert.deepEqual([s.key, s.asc], [0x05, 0x24]);
  }
  const boundary = sense(await run(n, wa16(0n, 1, 0, 1), { data: Buffer.alloc(512) }));
  assert.deepEqual([boundary.key, boundary.asc, boundary.sks?.readUInt16BE(1)], [0x05, 0x24, 10]);
  for (const [lba, blocks] of [
    [99n, 2],
    [96n, 8],
    [1n << 63n, 1],
    [(1n << 64n) - 1n, 0],
    [101n, 0],
  ] as const) {
    const s = sense(await run(n, wa16(lba, blocks), { data: Buffer.alloc(blocks * 512) }));
    assert.deepEqual([s.key, s.asc], [0x05, 0x21], `lba ${lba}`);
  }
  assert.equal((await run(n, wa16(0n, 0), { edtl: 0, direction: 'none' })).status, 0);
  assert.equal(f.dev.log.length, before);
});

test('WRITE ATOMIC(16) with a short Data-Out writes nothing (no partial atomic write)', async () => {
  const { f, n } = await ready();
  const before = f.dev.log.length;
  const s = sense(await run(n, wa16(0n, 4), { data: Buffer.alloc(2 * 512, 1) }));
  assert.equal(s.key, 0x05);
  assert.equal(f.dev.log.length, before);
});

test('WRITE ATOMIC(16) on a write-protected LU: DATA PROTECT', async () => {
  const { n } = await ready({ writeProtect: true });
  const s = sense(await run(n, wa16(0n, 1), { data: Buffer.alloc(512) }));
  assert.deepEqual([s.key, s.asc], [0x07, 0x27]);
});

test('atomic limits: length, granularity and alignment (SBC-4 §5.48)', () => {
  const limits = { maxAtomicTransferBlocks: 64, atomicAlignment: 8, atomicGranularity: 4 };
  assert.equal(checkAtomicLimits(16, 64, limits), undefined);
  assert.equal(checkAtomicLimits(5, 0, limits), undefined);
  const tooLong = checkAtomicLimits(0, 65, limits);
  assert.ok(tooLong && tooLong.reason === SenseReason.InvalidFieldInCdb && tooLong.field?.byte === 12);
  const granularity = checkAtomicLimits(0, 6, limits);
  assert.ok(granularity && granularity.field?.byte === 12);
  const misaligned = checkAtomicLimits(4, 8, limits);
  assert.ok(misaligned && misaligned.field?.byte === 2);
  assert.equal(checkAtomicLimits(3, 7, { maxAtomicTransferBlocks: 64, atomicAlignment: 0, atomicGranularity: 0 }), undefined);
  // Through the parser: MAXIMUM ATOMIC TRANSFER LENGTH follows MAXIMUM TRANSFER LENGTH.
  const geometry = { blockSize: 512, blockCount: 1e6, maxTransferBlocks: 1000 };
  assert.ok(!isSenseFailure(parseWriteAtomic(wa16(0n, 1000), geometry)));
  const over = parseWriteAtomic(wa16(0n, 1001), geometry);
  assert.ok(isSenseFailure(over) && over.reason === SenseReason.InvalidFieldInCdb);
});
