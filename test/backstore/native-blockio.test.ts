import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isUnsupported, loadNativeBlockIo, type NativeBlockIo } from '../../src/native/blockio.js';

function withFile(fn: (fd: number, path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsgt-native-'));
  const path = join(dir, 'f.img');
  const fd = fs.openSync(path, 'w+');
  return fn(fd, path).finally(() => {
    fs.closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
}

function native(): NativeBlockIo {
  const load = loadNativeBlockIo();
  assert.ok(load.io, `the addon is built by npm ci (binding.gyp): ${load.error}`);
  return load.io;
}

test('the native addon loads on Linux (built by `npm ci` from binding.gyp)', { skip: process.platform !== 'linux' && 'Linux only' }, () => {
  const load = loadNativeBlockIo();
  assert.equal(load.error, undefined);
  assert.ok(load.io);
  // Loading again returns the same cached module, not a second copy.
  assert.equal(typeof loadNativeBlockIo().io?.punchHole, 'function');
});

test('punchHole frees the file system blocks it covers and they read back as zeros', { skip: process.platform !== 'linux' && 'Linux only' }, async () => {
  const io = native();
  await withFile(async (fd) => {
    const mib = 1 << 20;
    fs.writeSync(fd, Buffer.alloc(4 * mib, 0xa5), 0, 4 * mib, 0);
    fs.fsyncSync(fd);
    const before = fs.fstatSync(fd).blocks;
    assert.ok(before * 512 >= 4 * mib, `allocated ${before * 512}`);
    await io.punchHole(fd, mib, 2 * mib);
    const after = fs.fstatSync(fd).blocks;
    assert.equal(fs.fstatSync(fd).size, 4 * mib, 'KEEP_SIZE');
    assert.ok((before - after) * 512 >= 2 * mib - 8192, `freed ${(before - after) * 512} bytes`);
    const back = Buffer.alloc(4 * mib);
    fs.readSync(fd, back, 0, 4 * mib, 0);
    assert.ok(back.subarray(mib, 3 * mib).equals(Buffer.alloc(2 * mib)));
    assert.ok(back.subarray(0, mib).equals(Buffer.alloc(mib, 0xa5)));
    assert.ok(back.subarray(3 * mib).equals(Buffer.alloc(mib, 0xa5)));
  });
});

test('seekData/seekHole walk the allocation; past the data, -1', { skip: process.platform !== 'linux' && 'Linux only' }, async () => {
  const io = native();
  await withFile(async (fd) => {
    fs.ftruncateSync(fd, 1 << 20);
    fs.writeSync(fd, Buffer.alloc(8192, 1), 0, 8192, 65536);
    assert.equal(await io.seekData(fd, 0), 65536);
    assert.equal(await io.seekData(fd, 65536 + 100), 65536 + 100, 'inside data: the offset itself');
    assert.equal(await io.seekHole(fd, 65536), 65536 + 8192);
    assert.equal(await io.seekData(fd, 65536 + 8192), -1, 'no data after: ENXIO → -1');
    assert.equal(await io.seekHole(fd, 0), 0);
    assert.equal(await io.seekHole(fd, 2 << 20), -1, 'past EOF');
  });
});

test('zeroRange zeroes without changing the size', { skip: process.platform !== 'linux' && 'Linux only' }, async () => {
  const io = native();
  await withFile(async (fd, path) => {
    fs.writeSync(fd, Buffer.alloc(65536, 7), 0, 65536, 0);
    try {
      await io.zeroRange(fd, 4096, 8192);
    } catch (e) {
      assert.ok(isUnsupported(e), String(e)); // tmpfs has no ZERO_RANGE
      return;
    }
    const b = fs.readFileSync(path);
    assert.equal(b.length, 65536);
    assert.ok(b.subarray(4096, 12288).equals(Buffer.alloc(8192)));
    assert.equal(b[4095], 7);
    assert.equal(b[12288], 7);
  });
});

test('block-device ioctls on a regular file fail with ENOTTY as an Error with code, errno and syscall', { skip: process.platform !== 'linux' && 'Linux only' }, async () => {
  const io = native();
  await withFile(async (fd) => {
    for (const call of [() => io.discard(fd, 0, 4096), () => io.zeroOut(fd, 0, 4096), () => io.blockDeviceSize(fd)]) {
      await assert.rejects(call(), (e: unknown) => {
        assert.ok(e instanceof Error);
        const err = e as Error & { code: string; errno: number; syscall: string };
        assert.equal(err.code, 'ENOTTY');
        assert.equal(err.errno, -25);
        assert.equal(err.syscall, 'ioctl');
        assert.ok(isUnsupported(err));
        return true;
      });
    }
  });
});

test('a bad descriptor is EBADF (not "unsupported"); bad arguments throw synchronously', { skip: process.platform !== 'linux' && 'Linux only' }, async () => {
  const io = native();
  await assert.rejects(io.punchHole(0x7ffff000, 0, 4096), (e: unknown) => (e as { code?: string }).code === 'EBADF' && !isUnsupported(e));
  assert.throws(() => io.punchHole(-1, 0, 4096), TypeError);
  assert.throws(() => io.seekData(3, 1.5), TypeError);
  assert.throws(() => io.punchHole(3, 2 ** 60, 1), TypeError, 'beyond 2^53 is not exact');
  assert.throws(() => (io.seekHole as unknown as (fd: number) => Promise<number>)(3), TypeError);
});
