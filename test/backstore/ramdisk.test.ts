import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { openRamdisk } from '../../src/backstore/ramdisk.js';
import { BackstoreOpenError } from '../../src/backstore/errors.js';
import { BackstoreIoError } from '../../src/backstore/types.js';

test('a large ramdisk allocates nothing until written; zero reads allocate nothing', async () => {
  const dev = await openRamdisk({ size: 64 * 1024 ** 3, blockSize: 512 });
  assert.equal(dev.blockCount, (64 * 1024 ** 3) / 512);
  assert.equal(dev.allocatedChunks, 0);
  const b = await dev.read(dev.blockCount - 8, 8, Buffer.alloc(4096, 0x55));
  assert.ok(b.equals(Buffer.alloc(4096)));
  assert.equal(dev.allocatedChunks, 0);
  await dev.write(dev.blockCount - 1, [Buffer.alloc(512, 7)]);
  assert.equal(dev.allocatedChunks, 1);
  assert.ok((await dev.read(dev.blockCount - 1, 1)).equals(Buffer.alloc(512, 7)));
  await dev.close();
});

test('writes and reads across chunk boundaries', async () => {
  const dev = await openRamdisk({ size: 16 * 4096, blockSize: 512, chunkSize: 4096 });
  const data = Buffer.alloc(3 * 4096 + 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
  await dev.write(6, [data.subarray(0, 1000), data.subarray(1000, 9000), data.subarray(9000)]);
  assert.equal(dev.allocatedChunks, 4); // bytes [3072, 16384) touch chunks 0..3 only
  assert.ok((await dev.read(6, data.length / 512)).equals(data));
  assert.ok((await dev.read(0, 6)).equals(Buffer.alloc(3072)));
});

test('unmap and writeZeroes free whole chunks and zero partial ones', async () => {
  const dev = await openRamdisk({ size: 8 * 4096, blockSize: 512, chunkSize: 4096 });
  await dev.write(0, [Buffer.alloc(8 * 4096, 0xaa)]);
  assert.equal(dev.allocatedChunks, 8);
  // blocks 4..20 cover chunk 0 partially (4..7), chunk 1 fully (8..15), chunk 2 partially (16..19)
  await dev.unmap([{ lba: 4, blocks: 16 }]);
  assert.equal(dev.allocatedChunks, 7);
  const b = await dev.read(0, 24);
  assert.ok(b.subarray(0, 2048).equals(Buffer.alloc(2048, 0xaa)));
  assert.ok(b.subarray(2048, 2048 + 16 * 512).equals(Buffer.alloc(16 * 512)));
  assert.ok(b.subarray(2048 + 16 * 512).equals(Buffer.alloc(4 * 512, 0xaa)));
  await dev.writeZeroes(24, 40);
  assert.equal(dev.allocatedChunks, 2);
  assert.ok((await dev.read(24, 40)).equals(Buffer.alloc(40 * 512)));
});

test('the last, partial chunk is freed when its used part is unmapped', async () => {
  const dev = await openRamdisk({ size: 4096 + 1024, blockSize: 512, chunkSize: 4096 });
  await dev.write(0, [Buffer.alloc(4096 + 1024, 1)]);
  assert.equal(dev.allocatedChunks, 2);
  await dev.unmap([{ lba: 8, blocks: 2 }]);
  assert.equal(dev.allocatedChunks, 1);
});

test('nullio: reads zeros, writes are discarded, nothing is allocated', async () => {
  const dev = await openRamdisk({ size: 1 << 20, blockSize: 4096, nullio: true });
  await dev.write(0, [Buffer.alloc(8192, 3)]);
  assert.equal(dev.allocatedChunks, 0);
  assert.ok((await dev.read(0, 2, Buffer.alloc(8192, 0xff))).equals(Buffer.alloc(8192)));
});

test('argument and lifecycle errors', async () => {
  await assert.rejects(openRamdisk({ size: 100, blockSize: 512 }), BackstoreOpenError);
  await assert.rejects(openRamdisk({ size: 8192, blockSize: 512, chunkSize: 1000 }), BackstoreOpenError);
  const dev = await openRamdisk({ size: 8192, blockSize: 512 });
  await assert.rejects(dev.read(16, 1), RangeError);
  await assert.rejects(dev.write(0, [Buffer.alloc(100)]), RangeError);
  await assert.rejects(dev.unmap([{ lba: 10, blocks: 10 }]), RangeError);
  await dev.close();
  await assert.rejects(dev.read(0, 1), BackstoreIoError);
});

type Op = { kind: 'write'; lba: number; blocks: number; seed: number } | { kind: 'unmap' | 'zero'; lba: number; blocks: number };

test('property: the ramdisk behaves like a flat buffer under writes, unmaps and zeroing', async () => {
  const BLOCKS = 64;
  const range = fc.integer({ min: 0, max: BLOCKS - 1 }).chain((lba) => fc.record({ lba: fc.constant(lba), blocks: fc.integer({ min: 1, max: BLOCKS - lba }) }));
  const op: fc.Arbitrary<Op> = fc.oneof(
    range.chain((r) => fc.integer({ min: 1, max: 250 }).map((seed) => ({ kind: 'write' as const, ...r, seed }))),
    range.map((r) => ({ kind: 'unmap' as const, ...r })),
    range.map((r) => ({ kind: 'zero' as const, ...r })),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 20 }), async (ops) => {
      const dev = await openRamdisk({ size: BLOCKS * 512, blockSize: 512, chunkSize: 2048 });
      const model = Buffer.alloc(BLOCKS * 512);
      for (const o of ops) {
        if (o.kind === 'write') {
          const data = Buffer.alloc(o.blocks * 512, o.seed);
          await dev.write(o.lba, [data]);
          data.copy(model, o.lba * 512);
        } else {
          if (o.kind === 'unmap') await dev.unmap([{ lba: o.lba, blocks: o.blocks }]);
          else await dev.writeZeroes(o.lba, o.blocks);
          model.fill(0, o.lba * 512, (o.lba + o.blocks) * 512);
        }
      }
      assert.ok((await dev.read(0, BLOCKS)).equals(model));
      assert.ok(dev.allocatedChunks <= BLOCKS / 4);
    }),
    { numRuns: 200 },
  );
});
