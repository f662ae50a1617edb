// fdio's synchronous page-cache path (CachedIo): partial copies, EAGAIN and
// EOPNOTSUPP fall back to the thread-pool calls for exactly the rest, and
// durable writes never take it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fdBlockDevice, type CachedIo, type FdOps } from '../../src/backstore/fdio.js';

const EAGAIN = -11;
const EOPNOTSUPP = -95;

interface Fake {
  data: Buffer;
  calls: string[];
}

function asyncOps(f: Fake): FdOps {
  return {
    read(fd, buffer, offset, length, position, cb) {
      f.calls.push(`read ${position} ${length}`);
      setImmediate(() => {
        const n = Math.max(0, Math.min(length, f.data.length - position));
        f.data.copy(buffer, offset, position, position + n);
        cb(null, n);
      });
    },
    writev(fd, buffers, position, cb) {
      f.calls.push(`writev ${fd} ${position}`);
      setImmediate(() => {
        let at = position;
        for (const b of buffers) at += b.copy(f.data, at);
        cb(null, at - position);
      });
    },
    fdatasync: (fd, cb) => setImmediate(() => cb(null)),
    close: (fd, cb) => setImmediate(() => cb(null)),
  };
}

/** A cache that copies at most `chunk` bytes per call and then answers `then` once the budget is spent. */
function cache(f: Fake, budget: number, chunk: number, then: number): CachedIo & { reads: number; writes: number } {
  let left = budget;
  const c = {
    reads: 0,
    writes: 0,
    read(fd: number, buffer: Buffer, offset: number, length: number, position: number): number {
      c.reads++;
      const n = Math.min(length, chunk, left, Math.max(0, f.data.length - position));
      if (n === 0) return left === 0 ? then : 0;
      left -= n;
      f.data.copy(buffer, offset, position, position + n);
      return n;
    },
    writev(fd: number, buffers: readonly Buffer[], position: number): number {
      c.writes++;
      let n = 0;
      for (const b of buffers) {
        const take = Math.min(b.length, chunk - n, left);
        if (take <= 0) break;
        b.copy(f.data, position + n, 0, take);
        n += take;
        left -= take;
      }
      return n === 0 ? then : n;
    },
  };
  return c;
}

test('reads: whatever the cache did not copy comes from the thread-pool path, byte-exact', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 8192 }),
      fc.integer({ min: 1, max: 3000 }),
      fc.constantFrom(EAGAIN, EOPNOTSUPP),
      fc.integer({ min: 0, max: 15 }),
      fc.integer({ min: 1, max: 16 }),
      async (budget, chunk, then, lba, blocks) => {
        const data = Buffer.alloc(32 * 512);
        for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
        const f: Fake = { data, calls: [] };
        const dev = fdBlockDevice({ fd: 3, syncFd: 4, blockSize: 512, blockCount: 32, readOnly: false, writeCache: true, label: 't', ops: asyncOps(f), cached: cache(f, budget, chunk, then) });
        const out = await dev.read(lba, blocks);
        assert.deepEqual(out, data.subarray(lba * 512, (lba + blocks) * 512));
        const copied = Math.min(budget, blocks * 512);
        if (copied === blocks * 512) assert.deepEqual(f.calls, []);
        else assert.deepEqual(f.calls, [`read ${lba * 512 + copied} ${blocks * 512 - copied}`]);
        await dev.close();
      },
    ),
    { numRuns: 150 },
  );
});

test('reads: EOPNOTSUPP switches the cache off for the device, EAGAIN does not', async () => {
  for (const [code, expected] of [
    [EOPNOTSUPP, 1],
    [EAGAIN, 3],
  ] as const) {
    const f: Fake = { data: Buffer.alloc(8 * 512, 1), calls: [] };
    const c = cache(f, 0, 512, code);
    const dev = fdBlockDevice({ fd: 3, blockSize: 512, blockCount: 8, readOnly: true, writeCache: false, label: 't', ops: asyncOps(f), cached: c });
    for (let i = 0; i < 3; i++) assert.deepEqual(await dev.read(i, 1), Buffer.alloc(512, 1));
    assert.equal(c.reads, expected);
    assert.equal(f.calls.length, 3);
    await dev.close();
  }
});

test('reads: end of file in the cache path zero-fills the tail without a thread-pool call', async () => {
  const f: Fake = { data: Buffer.alloc(512, 9), calls: [] };
  const dev = fdBlockDevice({ fd: 3, blockSize: 512, blockCount: 4, readOnly: true, writeCache: false, label: 't', ops: asyncOps(f), cached: cache(f, 1 << 20, 4096, EAGAIN) });
  const out = await dev.read(0, 4);
  assert.deepEqual(out, Buffer.concat([Buffer.alloc(512, 9), Buffer.alloc(1536)]));
  assert.deepEqual(f.calls, []);
  await dev.close();
});

test('small reads get distinct, non-overlapping buffers (slab slices)', async () => {
  const f: Fake = { data: Buffer.alloc(64 * 512), calls: [] };
  for (let i = 0; i < f.data.length; i++) f.data[i] = i >> 9;
  const dev = fdBlockDevice({ fd: 3, blockSize: 512, blockCount: 64, readOnly: true, writeCache: false, label: 't', ops: asyncOps(f), cached: cache(f, 1 << 30, 1 << 20, EAGAIN) });
  const bufs = await Promise.all(Array.from({ length: 64 }, (_, i) => dev.read(i, 1)));
  bufs.forEach((b, i) => assert.deepEqual(b, Buffer.alloc(512, i)));
  await dev.close();
});

test('writes: a partial cached write continues through writev at the right offset; durable writes skip the cache', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 4096 }), fc.integer({ min: 1, max: 700 }), fc.boolean(), fc.boolean(), async (budget, chunk, fua, writeCache) => {
      const f: Fake = { data: Buffer.alloc(16 * 512), calls: [] };
      const c = cache(f, budget, chunk, EAGAIN);
      const dev = fdBlockDevice({ fd: 3, syncFd: 4, blockSize: 512, blockCount: 16, readOnly: false, writeCache, label: 't', ops: asyncOps(f), cached: c });
      const payload = [Buffer.alloc(1000, 0xaa), Buffer.alloc(0), Buffer.alloc(1048, 0xbb)];
      await dev.write(2, payload, { fua });
      assert.deepEqual(f.data.subarray(1024, 1024 + 2048), Buffer.concat(payload));
      const durable = fua || !writeCache;
      if (durable) {
        assert.equal(c.writes, 0);
        assert.deepEqual(f.calls, ['writev 4 1024']);
      } else {
        const copied = Math.min(budget, 2048);
        assert.deepEqual(f.calls, copied === 2048 ? [] : [`writev 3 ${1024 + copied}`]);
      }
      await dev.close();
    }),
    { numRuns: 150 },
  );
});
