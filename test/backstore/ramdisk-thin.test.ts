import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { openRamdisk } from '../../src/backstore/ramdisk.js';
import { BackstoreIoError } from '../../src/backstore/types.js';

const CHUNK = 4096; // 8 blocks of 512

test('ramdisk lbaStatus reports its chunk map: written chunks mapped, the rest deallocated', async () => {
  const dev = await openRamdisk({ size: 64 * CHUNK, blockSize: 512, chunkSize: CHUNK });
  assert.equal(dev.unmapZeroes, true);
  assert.equal(dev.unmapGranularity, 8);
  assert.deepEqual(await dev.lbaStatus(0, dev.blockCount), [{ lba: 0, blocks: 512, mapped: false }]);
  await dev.write(17, [Buffer.alloc(512, 1)]); // chunk 2 (blocks 16..23)
  await dev.write(40, [Buffer.alloc(2 * CHUNK, 1)]); // chunks 5, 6
  assert.deepEqual(await dev.lbaStatus(0, dev.blockCount), [
    { lba: 0, blocks: 16, mapped: false },
    { lba: 16, blocks: 8, mapped: true },
    { lba: 24, blocks: 16, mapped: false },
    { lba: 40, blocks: 16, mapped: true },
    { lba: 56, blocks: 456, mapped: false },
  ]);
  // Starts at the requested LBA even inside a chunk; maxExtents cuts the walk.
  assert.deepEqual(await dev.lbaStatus(19, 30, 2), [
    { lba: 19, blocks: 5, mapped: true },
    { lba: 24, blocks: 16, mapped: false },
  ]);
  // Unmapping a whole chunk deallocates it; part of a chunk only zeroes it.
  await dev.unmap([{ lba: 40, blocks: 8 }, { lba: 50, blocks: 2 }]);
  assert.deepEqual(await dev.lbaStatus(32, 32), [
    { lba: 32, blocks: 16, mapped: false },
    { lba: 48, blocks: 8, mapped: true },
    { lba: 56, blocks: 8, mapped: false },
  ]);
  assert.ok((await dev.read(48, 8)).subarray(2 * 512, 4 * 512).equals(Buffer.alloc(1024)));
  await assert.rejects(dev.lbaStatus(500, 13), RangeError);
  await dev.close();
  await assert.rejects(dev.lbaStatus(0, 1), BackstoreIoError);
});

test('property: ramdisk lbaStatus tiles the range and agrees with allocatedChunks', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ unmap: fc.boolean(), lba: fc.nat(255), blocks: fc.integer({ min: 1, max: 40 }) }), { maxLength: 30 }),
      fc.nat(255),
      async (ops, from) => {
        const dev = await openRamdisk({ size: 256 * 512, blockSize: 512, chunkSize: CHUNK });
        for (const op of ops) {
          const blocks = Math.min(op.blocks, 256 - op.lba);
          if (op.unmap) await dev.unmap([{ lba: op.lba, blocks }]);
          else await dev.write(op.lba, [Buffer.alloc(blocks * 512, 7)]);
        }
        const st = await dev.lbaStatus(from, 256 - from);
        let at = from;
        let mappedChunks = new Set<number>();
        for (const e of st) {
          assert.equal(e.lba, at);
          if (e.mapped) for (let b = e.lba; b < e.lba + e.blocks; b++) mappedChunks.add(Math.floor(b / 8));
          at += e.blocks;
        }
        assert.equal(at, 256);
        for (let i = 1; i < st.length; i++) assert.notEqual(st[i].mapped, st[i - 1].mapped, 'neighbours differ (merged)');
        const whole = await dev.lbaStatus(0, 256);
        mappedChunks = new Set();
        for (const e of whole) if (e.mapped) for (let b = e.lba; b < e.lba + e.blocks; b++) mappedChunks.add(Math.floor(b / 8));
        assert.equal(mappedChunks.size, dev.allocatedChunks);
      },
    ),
    { numRuns: 100 },
  );
});

test('nullio stores nothing: every block is deallocated', async () => {
  const dev = await openRamdisk({ size: 1 << 20, blockSize: 512, nullio: true });
  await dev.write(0, [Buffer.alloc(4096, 1)]);
  assert.deepEqual(await dev.lbaStatus(0, dev.blockCount), [{ lba: 0, blocks: 2048, mapped: false }]);
});
