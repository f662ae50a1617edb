// The block backstore's provisioning path (BLKDISCARD / BLKZEROOUT /
// BLKGETSIZE64). No real block device can be discarded here, so the ioctls
// are exercised through a recording fake of the addon and, for the error
// path, through the real addon on a regular file (ENOTTY).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBlock, resolveBlockGeometry } from '../../src/backstore/block.js';
import { loadNativeBlockIo, type NativeBlockIo } from '../../src/native/blockio.js';

function withFile(size: number, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsgt-blockthin-'));
  const path = join(dir, 'disk.img');
  writeFileSync(path, Buffer.alloc(size, 0x77));
  return fn(path).finally(() => rmSync(dir, { recursive: true, force: true }));
}

function recorder(log: string[]): NativeBlockIo {
  const rec = (s: string) => {
    log.push(s);
    return Promise.resolve();
  };
  return {
    punchHole: (fd, o, l) => rec(`punchHole ${o} ${l}`),
    zeroRange: (fd, o, l) => rec(`zeroRange ${o} ${l}`),
    seekData: () => Promise.resolve(0),
    seekHole: () => Promise.resolve(-1),
    discard: (fd, o, l) => rec(`discard ${o} ${l}`),
    zeroOut: (fd, o, l) => rec(`zeroOut ${o} ${l}`),
    blockDeviceSize: () => Promise.resolve(0),
  };
}

test('a discarding block device: unmap is BLKDISCARD, writeZeroes is BLKZEROOUT, no LBPRZ, no allocation map', async () => {
  await withFile(1 << 20, async (path) => {
    const log: string[] = [];
    const dev = await openBlock(
      { dev: path, blockSize: 4096 },
      { geometry: { sizeBytes: 1 << 20, logicalBlockSize: 512, discard: true, discardGranularity: 65536 }, native: recorder(log) },
    );
    try {
      assert.ok(dev.unmap);
      assert.notEqual(dev.unmapZeroes, true, 'discarded blocks read back whatever the device returns');
      assert.equal(dev.unmapGranularity, 16);
      assert.equal(dev.lbaStatus, undefined);
      await dev.unmap([{ lba: 1, blocks: 2 }, { lba: 10, blocks: 0 }, { lba: 100, blocks: 4 }]);
      await dev.writeZeroes!(3, 5);
      assert.deepEqual(log, ['discard 4096 8192', 'discard 409600 16384', 'zeroOut 12288 20480']);
      assert.equal(log.some((l) => l.startsWith('punchHole')), false, 'no probe on a block device');
    } finally {
      await dev.close();
    }
  });
});

test('a block device that does not discard: no unmap, but BLKZEROOUT still zeroes', async () => {
  await withFile(1 << 20, async (path) => {
    const log: string[] = [];
    const dev = await openBlock({ dev: path }, { geometry: { sizeBytes: 1 << 20, logicalBlockSize: 512, discard: false }, native: recorder(log) });
    try {
      assert.equal(dev.unmap, undefined);
      await dev.writeZeroes!(0, 1);
      assert.deepEqual(log, ['zeroOut 0 512']);
    } finally {
      await dev.close();
    }
  });
});

test('the real addon on a regular file: BLKZEROOUT is ENOTTY and writeZeroes falls back to writing zeros', { skip: process.platform !== 'linux' && 'Linux only' }, async () => {
  assert.ok(loadNativeBlockIo().io);
  await withFile(1 << 20, async (path) => {
    const dev = await openBlock({ dev: path }, { geometry: { sizeBytes: 1 << 20, logicalBlockSize: 512, discard: true } });
    try {
      await dev.writeZeroes!(4, 4);
      const back = await dev.read(0, 12);
      assert.ok(back.subarray(4 * 512, 8 * 512).equals(Buffer.alloc(2048)));
      assert.equal(back[4 * 512 - 1], 0x77);
      assert.equal(back[8 * 512], 0x77);
      // BLKDISCARD unsupported here: the unmap completes and, with LBPRZ=0, may leave the data.
      await dev.unmap!([{ lba: 0, blocks: 1 }]);
    } finally {
      await dev.close();
    }
  });
});

test('sysfs discard limits: discard_max_bytes > 0 means the device discards; partitions use the disk queue', async () => {
  const root = mkdtempSync(join(tmpdir(), 'tsgt-sysfs-'));
  try {
    const disk = join(root, 'devices/virtual/block/vdb');
    mkdirSync(join(disk, 'queue'), { recursive: true });
    writeFileSync(join(disk, 'size'), '2048\n');
    writeFileSync(join(disk, 'queue/logical_block_size'), '512\n');
    writeFileSync(join(disk, 'queue/discard_max_bytes'), '2147450880\n');
    writeFileSync(join(disk, 'queue/discard_granularity'), '4096\n');
    mkdirSync(join(disk, 'vdb1'));
    writeFileSync(join(disk, 'vdb1/size'), '1024\n');
    const plain = join(root, 'devices/virtual/block/vdc');
    mkdirSync(join(plain, 'queue'), { recursive: true });
    writeFileSync(join(plain, 'size'), '2048\n');
    writeFileSync(join(plain, 'queue/logical_block_size'), '4096\n');
    writeFileSync(join(plain, 'queue/discard_max_bytes'), '0\n');
    mkdirSync(join(root, 'dev/block'), { recursive: true });
    symlinkSync('../../devices/virtual/block/vdb', join(root, 'dev/block/252:16'));
    symlinkSync('../../devices/virtual/block/vdb/vdb1', join(root, 'dev/block/252:17'));
    symlinkSync('../../devices/virtual/block/vdc', join(root, 'dev/block/252:32'));
    assert.deepEqual(await resolveBlockGeometry(252, 16, root), { sizeBytes: 2048 * 512, logicalBlockSize: 512, discard: true, discardGranularity: 4096 });
    assert.deepEqual(await resolveBlockGeometry(252, 17, root), { sizeBytes: 1024 * 512, logicalBlockSize: 512, discard: true, discardGranularity: 4096 });
    assert.deepEqual(await resolveBlockGeometry(252, 32, root), { sizeBytes: 2048 * 512, logicalBlockSize: 4096, discard: false, discardGranularity: 0 });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
