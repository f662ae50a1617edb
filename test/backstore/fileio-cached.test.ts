// fileio's synchronous fast path end to end, on a memory file system (plain
// pread/pwritev) and on the temp directory (RWF_NOWAIT where the addon has
// it): data written by every kind of write reads back through every path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileio } from '../../src/backstore/fileio.js';

const dirs = [tmpdir(), ...(fs.existsSync('/dev/shm') ? ['/dev/shm'] : [])];

for (const base of dirs) {
  test(`fileio in ${base}: cached, thread-pool, FUA and large transfers agree`, async () => {
    const dir = mkdtempSync(join(base, 'tsgt-cached-'));
    try {
      for (const write_back of [true, false]) {
        const path = join(dir, `d-${write_back}.img`);
        const dev = await openFileio({ dev: path, size: 4 << 20, write_back, blockSize: 512 });
        const small = Buffer.alloc(4096);
        for (let i = 0; i < small.length; i++) small[i] = (i * 31 + 1) & 0xff;
        const large = Buffer.alloc(1 << 20, 0x5a); // above the synchronous size limit
        await dev.write(8, [small.subarray(0, 1000), small.subarray(1000)]);
        await dev.write(100, [small], { fua: true });
        await dev.write(2048, [large]);
        assert.deepEqual(await dev.read(8, 8), small);
        assert.deepEqual(await dev.read(100, 8), small);
        assert.deepEqual(await dev.read(2048, 2048), large);
        assert.deepEqual(await dev.read(7, 1), Buffer.alloc(512)); // never written: a hole reads as zeros
        await dev.close();
        const onDisk = fs.readFileSync(path);
        assert.deepEqual(onDisk.subarray(8 * 512, 16 * 512), small);
        assert.deepEqual(onDisk.subarray(100 * 512, 108 * 512), small);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('fileio: fileExtent only on a memory file system, range-checked, and gone once closed', async () => {
  const tmpfs = fs.existsSync('/dev/shm') && Number(fs.statfsSync('/dev/shm').type) === 0x01021994;
  for (const base of dirs) {
    const dir = mkdtempSync(join(base, 'tsgt-extent-'));
    try {
      const dev = await openFileio({ dev: join(dir, 'e.img'), size: 1 << 20, write_back: true, blockSize: 4096 });
      const inMemory = base === '/dev/shm' && tmpfs;
      assert.equal(dev.fileExtent !== undefined, inMemory, `${base}: extents offered only where every page is in memory`);
      if (dev.fileExtent) {
        const data = Buffer.alloc(8192, 0x3c);
        await dev.write(10, [data]);
        const e = dev.fileExtent(10, 2);
        assert.ok(e);
        assert.equal(e.position, 10 * 4096);
        assert.equal(e.length, 8192);
        const got = Buffer.alloc(8192);
        fs.readSync(e.fd, got, 0, 8192, e.position);
        assert.deepEqual(got, data, 'the extent names the bytes written');
        assert.throws(() => dev.fileExtent!(255, 2), RangeError);
        await dev.close();
        assert.equal(dev.fileExtent(10, 2), undefined, 'a closed device offers no descriptor');
      } else {
        await dev.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
