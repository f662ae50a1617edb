import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { openFileio } from '../../src/backstore/fileio.js';
import { NODE_FD_OPS, type FdOps } from '../../src/backstore/fdio.js';
import { BackstoreIoError, type BlockDevice, type LbaExtent } from '../../src/backstore/types.js';
import type { NativeBlockIo } from '../../src/native/blockio.js';

const linuxOnly = { skip: process.platform !== 'linux' && 'Linux only' };
const MIB = 1 << 20;

async function withDevice(
  opts: { size?: number; blockSize?: number; native?: NativeBlockIo | null; write_back?: boolean; ops?: FdOps; readOnly?: boolean; existing?: Buffer },
  fn: (dev: BlockDevice, path: string) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsgt-thin-'));
  const path = join(dir, 'disk.img');
  if (opts.existing) fs.writeFileSync(path, opts.existing);
  try {
    const dev = await openFileio({
      dev: path,
      size: 'size' in opts ? opts.size : 16 * MIB,
      write_back: opts.write_back ?? true,
      blockSize: opts.blockSize ?? 512,
      native: opts.native,
      ops: opts.ops,
      readOnly: opts.readOnly,
    });
    try {
      await fn(dev, path);
    } finally {
      await dev.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function allocated(path: string): number {
  return statSync(path).blocks * 512;
}

/** Expand extents into one mapped flag per block, checking they tile [lba, lba+blocks). */
function flags(extents: readonly LbaExtent[], lba: number, blocks: number): boolean[] {
  const out: boolean[] = [];
  let at = lba;
  for (const e of extents) {
    assert.equal(e.lba, at, 'extents are contiguous and in order');
    assert.ok(e.blocks > 0);
    for (let i = 0; i < e.blocks; i++) out.push(e.mapped);
    at += e.blocks;
  }
  assert.equal(at, lba + blocks, 'extents cover the range');
  return out;
}

test('UNMAP really frees space: st_blocks drops by the punched range, data reads back as zeros', linuxOnly, async () => {
  await withDevice({}, async (dev, path) => {
    assert.ok(dev.unmap, 'thin fileio with the addon');
    assert.equal(dev.unmapZeroes, true);
    const data = Buffer.alloc(8 * MIB, 0x5a);
    await dev.write(0, [data]);
    await dev.flush();
    const before = allocated(path);
    assert.ok(before >= 8 * MIB, `allocated ${before}`);
    await dev.unmap([{ lba: 2048, blocks: 8192 }]); // 4 MiB at 1 MiB
    const after = allocated(path);
    console.log(`fileio unmap of 4 MiB: st_blocks ${before / 512} → ${after / 512} (${(before - after) / MIB} MiB freed)`);
    assert.ok(before - after >= 4 * MIB - 8192, `freed only ${before - after} bytes`);
    const back = await dev.read(0, 16384);
    assert.ok(back.subarray(MIB, 5 * MIB).equals(Buffer.alloc(4 * MIB)));
    assert.ok(back.subarray(0, MIB).equals(Buffer.alloc(MIB, 0x5a)));
    assert.ok(back.subarray(5 * MIB, 8 * MIB).equals(Buffer.alloc(3 * MIB, 0x5a)));
    assert.equal(statSync(path).size, 16 * MIB, 'the file keeps its size');
  });
});

test('lbaStatus reports what SEEK_DATA/SEEK_HOLE see: a fresh device is one deallocated extent', linuxOnly, async () => {
  await withDevice({}, async (dev) => {
    assert.ok(dev.lbaStatus);
    assert.deepEqual(await dev.lbaStatus(0, dev.blockCount), [{ lba: 0, blocks: dev.blockCount, mapped: false }]);
    await dev.write(1024, [Buffer.alloc(64 * 1024, 1)]); // blocks 1024..1151
    assert.deepEqual(await dev.lbaStatus(0, dev.blockCount), [
      { lba: 0, blocks: 1024, mapped: false },
      { lba: 1024, blocks: 128, mapped: true },
      { lba: 1152, blocks: dev.blockCount - 1152, mapped: false },
    ]);
    // A range starting inside an extent begins at the requested LBA; the walk stops at maxExtents.
    assert.deepEqual(await dev.lbaStatus(1100, 100), [
      { lba: 1100, blocks: 52, mapped: true },
      { lba: 1152, blocks: 48, mapped: false },
    ]);
    assert.deepEqual(await dev.lbaStatus(0, dev.blockCount, 1), [{ lba: 0, blocks: 1024, mapped: false }]);
    assert.deepEqual(await dev.lbaStatus(0, dev.blockCount, 2), [
      { lba: 0, blocks: 1024, mapped: false },
      { lba: 1024, blocks: 128, mapped: true },
    ]);
    await dev.unmap!([{ lba: 1024, blocks: 64 }]);
    assert.deepEqual(await dev.lbaStatus(1000, 200), [
      { lba: 1000, blocks: 88, mapped: false },
      { lba: 1088, blocks: 64, mapped: true },
      { lba: 1152, blocks: 48, mapped: false },
    ]);
  });
});

test('unmapping part of a file system block zeroes it but it stays mapped', linuxOnly, async () => {
  await withDevice({}, async (dev) => {
    await dev.write(0, [Buffer.alloc(8192, 0xee)]); // two 4 KiB file system blocks
    await dev.unmap!([{ lba: 1, blocks: 2 }]);
    const back = await dev.read(0, 16);
    assert.ok(back.subarray(512, 1536).equals(Buffer.alloc(1024)));
    assert.equal(back[511], 0xee);
    assert.equal(back[1536], 0xee);
    const st = await dev.lbaStatus!(0, 16);
    assert.deepEqual(st, [{ lba: 0, blocks: 16, mapped: true }]);
    assert.ok((dev.unmapGranularity ?? 1) >= 1);
  });
});

test('property: after random writes and unmaps, lbaStatus matches a model at file-system-block granularity and data matches', linuxOnly, async () => {
  const fsBlock = 4096;
  const per = fsBlock / 512;
  const units = 256; // 1 MiB device in 4 KiB units
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ unmap: fc.boolean(), at: fc.nat(units - 1), len: fc.integer({ min: 1, max: 16 }), byte: fc.integer({ min: 1, max: 255 }) }), { maxLength: 25 }),
      async (ops) => {
        await withDevice({ size: units * fsBlock }, async (dev) => {
          if (dev.unmapGranularity !== per) return; // a file system with other block sizes: the model does not apply
          const model = new Array<number>(units).fill(0); // 0: hole, else the byte
          for (const op of ops) {
            const len = Math.min(op.len, units - op.at);
            if (op.unmap) {
              await dev.unmap!([{ lba: op.at * per, blocks: len * per }]);
              for (let i = 0; i < len; i++) model[op.at + i] = 0;
            } else {
              await dev.write(op.at * per, [Buffer.alloc(len * fsBlock, op.byte)]);
              for (let i = 0; i < len; i++) model[op.at + i] = op.byte;
            }
          }
          const got = flags(await dev.lbaStatus!(0, dev.blockCount), 0, dev.blockCount);
          for (let u = 0; u < units; u++) assert.equal(got[u * per], model[u] !== 0, `unit ${u}`);
          const all = await dev.read(0, dev.blockCount);
          for (let u = 0; u < units; u++) assert.equal(all[u * fsBlock + 17], model[u], `data of unit ${u}`);
        });
      },
    ),
    { numRuns: 20 },
  );
});

test('writeZeroes zeroes the range (ZERO_RANGE, or written zeros where unsupported)', linuxOnly, async () => {
  await withDevice({}, async (dev) => {
    await dev.write(0, [Buffer.alloc(64 * 1024, 3)]);
    await dev.writeZeroes!(8, 16);
    const back = await dev.read(0, 128);
    assert.ok(back.subarray(8 * 512, 24 * 512).equals(Buffer.alloc(16 * 512)));
    assert.equal(back[8 * 512 - 1], 3);
    assert.equal(back[24 * 512], 3);
  });
});

test('without the addon (native: null): no unmap or lbaStatus, writeZeroes writes zeros', async () => {
  await withDevice({ native: null }, async (dev, path) => {
    assert.equal(dev.unmap, undefined);
    assert.equal(dev.lbaStatus, undefined);
    assert.equal(dev.unmapZeroes, undefined);
    await dev.write(0, [Buffer.alloc(4096, 9)]);
    await dev.writeZeroes!(0, 8);
    assert.ok((await dev.read(0, 8)).equals(Buffer.alloc(4096)));
    assert.ok(allocated(path) >= 4096, 'zeros were written, the block is still allocated');
  });
});

/** A fake addon: records calls, answers with `fail` codes where given. */
function fakeNative(fail: Partial<Record<keyof NativeBlockIo, string>>, log: string[]): NativeBlockIo {
  const reject = (name: keyof NativeBlockIo) => {
    const e = Object.assign(new Error(`${name} failed`), { code: fail[name] });
    return Promise.reject(e);
  };
  const call = <T>(name: keyof NativeBlockIo, value: T, ...args: number[]): Promise<T> => {
    log.push(`${name}(${args.join(',')})`);
    return fail[name] ? reject(name) : Promise.resolve(value);
  };
  return {
    punchHole: (fd, o, l) => call('punchHole', undefined, o, l),
    zeroRange: (fd, o, l) => call('zeroRange', undefined, o, l),
    seekData: (fd, o) => call('seekData', -1, o),
    seekHole: (fd, o) => call('seekHole', -1, o),
    discard: (fd, o, l) => call('discard', undefined, o, l),
    zeroOut: (fd, o, l) => call('zeroOut', undefined, o, l),
    blockDeviceSize: () => call('blockDeviceSize', 0),
  };
}

test('a file system without PUNCH_HOLE (probe answers EOPNOTSUPP): no unmap; lseek unsupported: every block mapped', async () => {
  const log: string[] = [];
  await withDevice({ native: fakeNative({ punchHole: 'EOPNOTSUPP', seekData: 'EINVAL', zeroRange: 'EOPNOTSUPP' }, log) }, async (dev) => {
    assert.equal(dev.unmap, undefined);
    assert.match(log[0], /^punchHole\(\d+,\d+\)$/);
    const probeAt = Number(/punchHole\((\d+),/.exec(log[0])![1]);
    assert.ok(probeAt >= 16 * MIB, 'the probe is past the end of the file');
    assert.deepEqual(await dev.lbaStatus!(10, 20), [{ lba: 10, blocks: 20, mapped: true }]);
    await dev.write(0, [Buffer.alloc(1024, 1)]);
    await dev.writeZeroes!(0, 2);
    await dev.writeZeroes!(0, 2);
    assert.ok((await dev.read(0, 2)).equals(Buffer.alloc(1024)));
    assert.equal(log.filter((l) => l.startsWith('zeroRange')).length, 1, 'an unsupported ZERO_RANGE is not retried');
  });
});

test('PUNCH_HOLE that stops working after open: unmap falls back to writing zeros (LBPRZ kept); a real I/O error is a BackstoreIoError', async () => {
  const log: string[] = [];
  const fail: Partial<Record<keyof NativeBlockIo, string>> = {};
  await withDevice({ native: fakeNative(fail, log) }, async (dev) => {
    assert.ok(dev.unmap);
    await dev.write(0, [Buffer.alloc(2048, 1)]);
    fail.punchHole = 'EOPNOTSUPP';
    await dev.unmap([{ lba: 0, blocks: 4 }]);
    assert.ok((await dev.read(0, 4)).equals(Buffer.alloc(2048)));
    delete fail.punchHole;
    await dev.unmap([{ lba: 0, blocks: 4 }]);
    assert.equal(log.filter((l) => l.startsWith('punchHole')).length, 2, 'probe + the first unmap; then remembered as unsupported');
  });
  let punches = 0;
  const eio = fakeNative({}, []);
  const io: NativeBlockIo = { ...eio, punchHole: (...a) => (++punches === 1 ? eio.punchHole(...a) : Promise.reject(Object.assign(new Error('io'), { code: 'EIO' }))) };
  await withDevice({ native: io }, async (dev) => {
    await assert.rejects(dev.unmap!([{ lba: 8, blocks: 8 }]), (e: unknown) => e instanceof BackstoreIoError && e.direction === 'unmap' && e.lba === 8 && /EIO/.test(e.message));
  });
});

test('without a write cache, unmap and writeZeroes are followed by fdatasync', linuxOnly, async () => {
  let syncs = 0;
  const ops: FdOps = { ...NODE_FD_OPS, fdatasync: (fd, cb) => (syncs++, NODE_FD_OPS.fdatasync(fd, cb)) };
  await withDevice({ write_back: false, ops }, async (dev) => {
    const s0 = syncs;
    await dev.unmap!([{ lba: 0, blocks: 8 }]);
    assert.equal(syncs, s0 + 1);
    await dev.writeZeroes!(0, 8);
    assert.ok(syncs >= s0 + 1);
  });
  syncs = 0;
  await withDevice({ write_back: true, ops }, async (dev) => {
    await dev.unmap!([{ lba: 0, blocks: 8 }]);
    assert.equal(syncs, 0, 'a volatile cache defers durability to SYNCHRONIZE CACHE');
  });
});

test('read-only fileio: no unmap, but the allocation can still be read', linuxOnly, async () => {
  const existing = Buffer.alloc(MIB);
  await withDevice({ readOnly: true, existing, size: undefined }, async (dev) => {
    assert.equal(dev.unmap, undefined);
    assert.ok(dev.lbaStatus);
    const st = await dev.lbaStatus(0, dev.blockCount);
    assert.deepEqual(st, [{ lba: 0, blocks: 2048, mapped: true }], 'a file written with zeros is allocated');
    await assert.rejects(dev.writeZeroes!(0, 1), BackstoreIoError);
  });
});

test('unmap and lbaStatus check ranges and refuse a closed device', linuxOnly, async () => {
  await withDevice({}, async (dev) => {
    await assert.rejects(dev.unmap!([{ lba: dev.blockCount - 1, blocks: 2 }]), RangeError);
    await assert.rejects(dev.lbaStatus!(dev.blockCount, 1), RangeError);
    await dev.unmap!([]);
    await dev.unmap!([{ lba: dev.blockCount, blocks: 0 }]);
  });
  const dir = mkdtempSync(join(tmpdir(), 'tsgt-thin-'));
  try {
    const dev = await openFileio({ dev: join(dir, 'x.img'), size: MIB, write_back: true, blockSize: 512 });
    await dev.close();
    await assert.rejects(dev.unmap!([{ lba: 0, blocks: 1 }]), BackstoreIoError);
    await assert.rejects(dev.lbaStatus!(0, 1), BackstoreIoError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
