// Where physical_block_size comes from when the attribute is absent: the block
// plugin asks the device (ioctl BLKPBSZGET through the native addon); anything
// it cannot tell leaves the LU at one logical block per physical block.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockDevicePhysicalBlockSize, loadNativeBlockIo, type NativeBlockIo } from '../../src/native/blockio.js';

const unused = () => Promise.reject(new Error('not used'));
function fakeIo(physicalBlockSize?: NativeBlockIo['physicalBlockSize']): NativeBlockIo {
  return {
    punchHole: unused,
    zeroRange: unused,
    seekData: unused,
    seekHole: unused,
    discard: unused,
    zeroOut: unused,
    blockDeviceSize: unused,
    ...(physicalBlockSize ? { physicalBlockSize } : {}),
  };
}

async function withFile<T>(fn: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tsgt-pbs-'));
  try {
    const path = join(dir, 'dev');
    await writeFile(path, Buffer.alloc(4096));
    return await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('the addon answer is used, on an fd of the path it was given', async () => {
  await withFile(async (path) => {
    const fds: number[] = [];
    const size = await blockDevicePhysicalBlockSize(path, fakeIo(async (fd) => (fds.push(fd), 4096)));
    assert.equal(size, 4096);
    assert.equal(fds.length, 1);
    assert.ok(fds[0] >= 0);
  });
});

test('no answer: no addon, an addon without BLKPBSZGET, an ioctl error, a missing path, a nonsense size', async () => {
  await withFile(async (path) => {
    const enotty = Object.assign(new Error('ioctl: Inappropriate ioctl for device (ENOTTY)'), { code: 'ENOTTY' });
    assert.equal(await blockDevicePhysicalBlockSize(path, undefined), undefined);
    assert.equal(await blockDevicePhysicalBlockSize(path, fakeIo()), undefined);
    assert.equal(await blockDevicePhysicalBlockSize(path, fakeIo(() => Promise.reject(enotty))), undefined);
    assert.equal(await blockDevicePhysicalBlockSize(join(path, 'missing'), fakeIo(async () => 4096)), undefined);
    assert.equal(await blockDevicePhysicalBlockSize(path, fakeIo(async () => 0)), undefined);
  });
});

test('the real addon (when built with BLKPBSZGET) has no answer for a regular file', async (t) => {
  const io = loadNativeBlockIo().io;
  if (io?.physicalBlockSize === undefined) {
    t.skip('addon not built, or built before BLKPBSZGET');
    return;
  }
  await withFile(async (path) => {
    await assert.rejects(async () => {
      const { open } = await import('node:fs/promises');
      const h = await open(path, 'r');
      try {
        await io.physicalBlockSize!(h.fd);
      } finally {
        await h.close();
      }
    }, (e: { code?: string }) => e.code === 'ENOTTY');
    assert.equal(await blockDevicePhysicalBlockSize(path, io), undefined);
  });
});
