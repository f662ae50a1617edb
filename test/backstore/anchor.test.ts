// BlockDevice.anchor: zeros that stay allocated (the anchored LBA state of
// SBC-3 §4.7), on ramdisk, fileio (a temporary file, through the native addon
// when it loads) and the block backstore's BLKZEROOUT path (a recording fake).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { openRamdisk } from '../../src/backstore/ramdisk.js';
import { openFileio } from '../../src/backstore/fileio.js';
import { openBlock } from '../../src/backstore/block.js';
import { BackstoreIoError, type BlockDevice, type LbaExtent } from '../../src/backstore/types.js';
import { loadNativeBlockIo, type NativeBlockIo } from '../../src/native/blockio.js';

const KIB = 1024;
const MIB = 1 << 20;
const native = loadNativeBlockIo().io;
const needsAddon = { skip: (process.platform !== 'linux' || native === undefined) && 'needs the native addon on Linux' };

/** One mapped flag per block of [lba, lba+blocks), checking the extents tile it. */
function flags(extents: readonly LbaExtent[], lba: number, blocks: number): boolean[] {
  const out: boolean[] = [];
  let at = lba;
  for (const e of extents) {
    assert.equal(e.lba, at, 'extents are contiguous and in order');
    for (let i = 0; i < e.blocks; i++) out.push(e.mapped);
    at += e.blocks;
  }
  assert.equal(at, lba + blocks, 'extents cover the range');
  return out;
}

// ---- ramdisk ----------------------------------------------------------------

test('ramdisk anchor: the range reads as zeros, the chunks it touches are allocated, the rest is untouched', async () => {
  const dev = await openRamdisk({ size: 64 * KIB, blockSize: 512, chunkSize: 4 * KIB }); // 8 blocks per chunk
  assert.ok(dev.anchor, 'a ramdisk can anchor');
  await dev.write(0, [Buffer.alloc(16 * 512, 0xaa)]); // chunks 0 and 1
  assert.equal(dev.allocatedChunks, 2);
  // Inside written data: blocks 3..10 become zeros, neighbours keep their bytes.
  await dev.anchor([{ lba: 3, blocks: 8 }]);
  const back = await dev.read(0, 16);
  assert.ok(back.subarray(3 * 512, 11 * 512).equals(Buffer.alloc(8 * 512)));
  assert.equal(back[3 * 512 - 1], 0xaa);
  assert.equal(back[11 * 512], 0xaa);
  // Where nothing was allocated (chunks 4..5, blocks 33..44), anchoring allocates.
  await dev.anchor([{ lba: 33, blocks: 12 }]);
  assert.equal(dev.allocatedChunks, 4);
  assert.deepEqual(await dev.lbaStatus(0, 64), [
    { lba: 0, blocks: 16, mapped: true },
    { lba: 16, blocks: 16, mapped: false },
    { lba: 32, blocks: 16, mapped: true },
    { lba: 48, blocks: 16, mapped: false },
  ]);
  assert.ok((await dev.read(32, 16)).equals(Buffer.alloc(16 * 512)));
  await dev.close();
});

test('ramdisk anchor after unmap: deallocated blocks become mapped zeros; unlike writeZeroes, which frees whole chunks', async () => {
  const dev = await openRamdisk({ size: 64 * KIB, blockSize: 512, chunkSize: 4 * KIB });
  await dev.write(0, [Buffer.alloc(32 * 512, 0x11)]);
  await dev.unmap([{ lba: 8, blocks: 16 }]);
  assert.deepEqual(flags(await dev.lbaStatus(8, 16), 8, 16), new Array<boolean>(16).fill(false));
  await dev.anchor!([{ lba: 8, blocks: 16 }]);
  assert.deepEqual(flags(await dev.lbaStatus(8, 16), 8, 16), new Array<boolean>(16).fill(true));
  assert.ok((await dev.read(8, 16)).equals(Buffer.alloc(16 * 512)));
  // writeZeroes over the same whole chunks deallocates them: why anchor is a method of its own.
  await dev.writeZeroes(8, 16);
  assert.deepEqual(flags(await dev.lbaStatus(8, 16), 8, 16), new Array<boolean>(16).fill(false));
  await dev.close();
});

test('ramdisk anchor checks every range first (a refused call changes nothing) and refuses a closed device', async () => {
  const dev = await openRamdisk({ size: 64 * KIB, blockSize: 512, chunkSize: 4 * KIB });
  await dev.write(0, [Buffer.alloc(512, 0x42)]);
  await assert.rejects(dev.anchor!([{ lba: 0, blocks: 1 }, { lba: 127, blocks: 2 }]), RangeError);
  assert.equal((await dev.read(0, 1))[0], 0x42, 'the first range was not anchored');
  assert.equal(dev.allocatedChunks, 1);
  await dev.anchor!([]); // nothing to do
  await dev.close();
  await assert.rejects(dev.anchor!([{ lba: 0, blocks: 1 }]), BackstoreIoError);
});

test('nullio ramdisk has no anchor: it could not keep anchored blocks from reading as deallocated', async () => {
  const dev = await openRamdisk({ size: 64 * KIB, blockSize: 512, nullio: true });
  assert.equal(dev.anchor, undefined);
  assert.ok(dev.unmap);
  await dev.close();
});

test('property: ramdisk after random writes, unmaps and anchors, data and chunk map match a model', async () => {
  const per = 8; // blocks per 4 KiB chunk
  const blocks = 128;
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({ op: fc.constantFrom('write', 'unmap', 'anchor'), at: fc.nat(blocks - 1), len: fc.integer({ min: 1, max: 24 }), byte: fc.integer({ min: 1, max: 255 }) }),
        { maxLength: 30 },
      ),
      async (ops) => {
        const dev = await openRamdisk({ size: blocks * 512, blockSize: 512, chunkSize: per * 512 });
        const data = new Array<number>(blocks).fill(0);
        const mapped = new Array<boolean>(blocks / per).fill(false);
        for (const o of ops) {
          const len = Math.min(o.len, blocks - o.at);
          const chunksOf = (f: (c: number, whole: boolean) => void) => {
            for (let c = Math.floor(o.at / per); c * per < o.at + len; c++) f(c, o.at <= c * per && (c + 1) * per <= o.at + len);
          };
          if (o.op === 'write') {
            await dev.write(o.at, [Buffer.alloc(len * 512, o.byte)]);
            for (let i = 0; i < len; i++) data[o.at + i] = o.byte;
            chunksOf((c) => (mapped[c] = true));
          } else if (o.op === 'unmap') {
            await dev.unmap([{ lba: o.at, blocks: len }]);
            for (let i = 0; i < len; i++) data[o.at + i] = 0;
            chunksOf((c, whole) => {
              if (whole) mapped[c] = false;
            });
          } else {
            await dev.anchor!([{ lba: o.at, blocks: len }]);
            for (let i = 0; i < len; i++) data[o.at + i] = 0;
            chunksOf((c) => (mapped[c] = true));
          }
        }
        const back = await dev.read(0, blocks);
        for (let i = 0; i < blocks; i++) assert.equal(back[i * 512], data[i], `block ${i}`);
        const got = flags(await dev.lbaStatus(0, blocks), 0, blocks);
        for (let i = 0; i < blocks; i++) assert.equal(got[i], mapped[Math.floor(i / per)], `block ${i} mapped`);
        await dev.close();
      },
    ),
    { numRuns: 60 },
  );
});

// ---- fileio -----------------------------------------------------------------

async function withFileio(
  opts: { size?: number; write_back?: boolean; readOnly?: boolean; native?: NativeBlockIo | null },
  fn: (dev: BlockDevice, path: string) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsgt-anchor-'));
  const path = join(dir, 'disk.img');
  try {
    if (opts.readOnly) writeFileSync(path, Buffer.alloc(opts.size ?? 4 * MIB));
    const dev = await openFileio({ dev: path, size: opts.size ?? 4 * MIB, write_back: opts.write_back ?? true, blockSize: 512, readOnly: opts.readOnly, native: opts.native });
    try {
      await fn(dev, path);
    } finally {
      await dev.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('fileio anchor: a hole becomes allocated zeros that SEEK_DATA sees as data; written data becomes zeros', needsAddon, async () => {
  await withFileio({}, async (dev, path) => {
    assert.ok(dev.unmap && dev.anchor && dev.lbaStatus, 'thin fileio with the addon can anchor');
    // A fresh file is one hole.
    assert.deepEqual(flags(await dev.lbaStatus(0, 2048), 0, 2048), new Array<boolean>(2048).fill(false));
    const before = statSync(path).blocks;
    await dev.anchor([{ lba: 0, blocks: 1024 }]); // 512 KiB
    assert.ok(statSync(path).blocks - before >= 1024, 'storage was allocated for the anchored range');
    assert.deepEqual(await dev.lbaStatus(0, 2048), [
      { lba: 0, blocks: 1024, mapped: true },
      { lba: 1024, blocks: 1024, mapped: false },
    ]);
    assert.ok((await dev.read(0, 1024)).equals(Buffer.alloc(1024 * 512)));
    // Over written data, with two ranges in one call.
    await dev.write(1024, [Buffer.alloc(64 * 512, 0x5a)]);
    await dev.anchor([{ lba: 1032, blocks: 8 }, { lba: 1080, blocks: 8 }]);
    const back = await dev.read(1024, 64);
    assert.ok(back.subarray(8 * 512, 16 * 512).equals(Buffer.alloc(8 * 512)));
    assert.ok(back.subarray(56 * 512).equals(Buffer.alloc(8 * 512)));
    assert.equal(back[8 * 512 - 1], 0x5a);
    assert.equal(back[16 * 512], 0x5a);
    assert.deepEqual(flags(await dev.lbaStatus(1024, 64), 1024, 64), new Array<boolean>(64).fill(true));
  });
});

test('fileio anchor after unmap: the punched range is reported mapped again, never deallocated', needsAddon, async () => {
  await withFileio({ write_back: false }, async (dev) => {
    await dev.write(0, [Buffer.alloc(256 * KIB, 0x33)]);
    await dev.unmap!([{ lba: 128, blocks: 256 }]);
    assert.ok(flags(await dev.lbaStatus!(128, 256), 128, 256).some((m) => !m), 'the punched range has holes');
    await dev.anchor!([{ lba: 128, blocks: 256 }]);
    assert.deepEqual(flags(await dev.lbaStatus!(0, 512), 0, 512), new Array<boolean>(512).fill(true));
    assert.ok((await dev.read(128, 256)).equals(Buffer.alloc(256 * 512)));
    assert.equal((await dev.read(127, 1))[0], 0x33);
  });
});

test('fileio anchor checks ranges first and refuses a closed device; read-only or addon-less fileio has none', needsAddon, async () => {
  await withFileio({}, async (dev) => {
    await dev.write(0, [Buffer.alloc(512, 0x42)]);
    await assert.rejects(dev.anchor!([{ lba: 0, blocks: 1 }, { lba: dev.blockCount, blocks: 1 }]), RangeError);
    assert.equal((await dev.read(0, 1))[0], 0x42);
    await dev.close();
    await assert.rejects(dev.anchor!([{ lba: 0, blocks: 1 }]), BackstoreIoError);
  });
  await withFileio({ readOnly: true }, async (dev) => assert.equal(dev.anchor, undefined));
  await withFileio({ native: null }, async (dev) => {
    assert.equal(dev.unmap, undefined);
    assert.equal(dev.anchor, undefined, 'no deallocation, so no anchored state either');
  });
});

// ---- block (BLKZEROOUT through a recording fake of the addon) ----------------

function recorder(log: string[], zeroOut?: () => Promise<void>): NativeBlockIo {
  const rec = (s: string) => {
    log.push(s);
    return Promise.resolve();
  };
  return {
    punchHole: (_fd, o, l) => rec(`punchHole ${o} ${l}`),
    zeroRange: (_fd, o, l) => rec(`zeroRange ${o} ${l}`),
    seekData: () => Promise.resolve(0),
    seekHole: () => Promise.resolve(-1),
    discard: (_fd, o, l) => rec(`discard ${o} ${l}`),
    zeroOut: (_fd, o, l) => (zeroOut ? zeroOut() : rec(`zeroOut ${o} ${l}`)),
    blockDeviceSize: () => Promise.resolve(0),
  };
}

async function withBlock(native: NativeBlockIo, discard: boolean, fn: (dev: BlockDevice, path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsgt-anchor-block-'));
  const path = join(dir, 'disk.img');
  writeFileSync(path, Buffer.alloc(MIB, 0x77));
  try {
    const dev = await openBlock({ dev: path, blockSize: 512, write_back: true }, { geometry: { sizeBytes: MIB, logicalBlockSize: 512, discard }, native });
    try {
      await fn(dev, path);
    } finally {
      await dev.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('block anchor is BLKZEROOUT (never a discard); without discard support there is no anchor', async () => {
  const log: string[] = [];
  await withBlock(recorder(log), true, async (dev) => {
    assert.ok(dev.anchor);
    await dev.anchor([{ lba: 2, blocks: 4 }, { lba: 10, blocks: 0 }, { lba: 100, blocks: 1 }]);
    assert.deepEqual(log, ['zeroOut 1024 2048', 'zeroOut 51200 512']);
  });
  await withBlock(recorder([]), false, async (dev) => {
    assert.equal(dev.unmap, undefined);
    assert.equal(dev.anchor, undefined);
  });
});

test('block anchor where BLKZEROOUT is unsupported: zeros are written instead', async () => {
  const unsupported = () => Promise.reject(Object.assign(new Error('not a block device'), { code: 'ENOTTY' }));
  await withBlock(recorder([], unsupported), true, async (dev) => {
    assert.equal((await dev.read(3, 1))[0], 0x77);
    await dev.anchor!([{ lba: 3, blocks: 2 }]);
    const back = await dev.read(2, 4);
    assert.equal(back[0], 0x77);
    assert.ok(back.subarray(512, 1536).equals(Buffer.alloc(1024)));
    assert.equal(back[1536], 0x77);
  });
  const failing = () => Promise.reject(Object.assign(new Error('I/O error'), { code: 'EIO' }));
  await withBlock(recorder([], failing), true, async (dev) => {
    await assert.rejects(dev.anchor!([{ lba: 0, blocks: 1 }]), BackstoreIoError);
  });
});
