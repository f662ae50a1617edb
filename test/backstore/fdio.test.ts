// The fd-backed device against a fake file system: short transfers, errno
// mapping and close ordering, none of which a healthy local file produces.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fdBlockDevice, type FdOps } from '../../src/backstore/fdio.js';
import { BackstoreIoError } from '../../src/backstore/types.js';

interface FakeFile {
  data: Buffer;
  /** Largest transfer per call (short reads / partial writes). */
  maxChunk: number;
  fail?: { op: 'read' | 'writev' | 'fdatasync'; code: string };
  calls: string[];
  closed: number[];
  /** Delay completions by this many ms. */
  delay?: number;
}

function fakeOps(f: FakeFile): FdOps {
  const later = (fn: () => void) => (f.delay ? setTimeout(fn, f.delay) : setImmediate(fn));
  const errno = (code: string) => Object.assign(new Error(`${code}: fake`), { code, errno: -5 });
  return {
    read(fd, buffer, offset, length, position, cb) {
      f.calls.push(`read ${fd} ${position} ${length}`);
      later(() => {
        if (f.fail?.op === 'read') return cb(errno(f.fail.code), 0);
        const n = Math.max(0, Math.min(length, f.maxChunk, f.data.length - position));
        f.data.copy(buffer, offset, position, position + n);
        cb(null, n);
      });
    },
    writev(fd, buffers, position, cb) {
      f.calls.push(`writev ${fd} ${position} ${buffers.length}`);
      later(() => {
        if (f.fail?.op === 'writev') return cb(errno(f.fail.code), 0);
        let budget = f.maxChunk;
        let at = position;
        for (const b of buffers) {
          const n = Math.min(b.length, budget);
          b.copy(f.data, at, 0, n);
          at += n;
          budget -= n;
          if (budget === 0) break;
        }
        cb(null, at - position);
      });
    },
    fdatasync(fd, cb) {
      f.calls.push(`fdatasync ${fd}`);
      later(() => cb(f.fail?.op === 'fdatasync' ? errno(f.fail.code) : null));
    },
    close(fd, cb) {
      f.closed.push(fd);
      later(() => cb(null));
    },
  };
}

function fake(size: number, maxChunk: number): FakeFile {
  return { data: Buffer.alloc(size), maxChunk, calls: [], closed: [] };
}

function device(f: FakeFile, blockSize = 512, blocks = f.data.length / 512, writeCache = true) {
  return fdBlockDevice({ fd: 10, syncFd: 11, blockSize, blockCount: blocks, readOnly: false, writeCache, label: 'fake', ops: fakeOps(f) });
}

test('short reads are continued until the request is complete', async () => {
  const f = fake(8192, 700);
  for (let i = 0; i < f.data.length; i++) f.data[i] = i & 0xff;
  const dev = device(f);
  const b = await dev.read(1, 8);
  assert.ok(b.equals(f.data.subarray(512, 512 * 9)));
  assert.equal(f.calls.length, Math.ceil(4096 / 700));
});

test('the file ending early reads as zeros (EOF inside a request)', async () => {
  const f = fake(1000, 1 << 20);
  f.data.fill(9);
  const dev = fdBlockDevice({ fd: 3, blockSize: 512, blockCount: 8, readOnly: true, writeCache: false, label: 'fake', ops: fakeOps(f) });
  const b = await dev.read(0, 4, Buffer.alloc(2048, 0xff));
  assert.ok(b.subarray(0, 1000).equals(Buffer.alloc(1000, 9)));
  assert.ok(b.subarray(1000).equals(Buffer.alloc(1048)));
});

test('partial writes resume in the middle of an iovec element', async () => {
  const f = fake(8192, 300);
  const dev = device(f);
  const parts = [Buffer.alloc(100, 1), Buffer.alloc(1000, 2), Buffer.alloc(436, 3)];
  await dev.write(2, parts);
  const expect = Buffer.concat(parts);
  assert.ok(f.data.subarray(1024, 1024 + 1536).equals(expect));
  assert.ok(f.data.subarray(0, 1024).equals(Buffer.alloc(1024)));
  assert.equal(f.calls.length, Math.ceil(1536 / 300));
});

test('property: any split of a write into buffers and any short-transfer size yields the same bytes', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 8 }),
      fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 6 }),
      fc.integer({ min: 1, max: 2000 }),
      fc.integer({ min: 0, max: 7 }),
      async (blocks, cuts, chunk, lba) => {
        const f = fake(16 * 512, chunk);
        const dev = device(f);
        const data = Buffer.alloc(blocks * 512);
        for (let i = 0; i < data.length; i++) data[i] = (i * 7 + blocks) & 0xff;
        const pieces: Buffer[] = [];
        let at = 0;
        for (const c of cuts) {
          if (at >= data.length) break;
          pieces.push(data.subarray(at, Math.min(data.length, at + c)));
          at += c;
        }
        if (at < data.length) pieces.push(data.subarray(at));
        await dev.write(lba, pieces);
        assert.ok(f.data.subarray(lba * 512, lba * 512 + data.length).equals(data));
        assert.ok((await dev.read(lba, blocks)).equals(data));
      },
    ),
    { numRuns: 100 },
  );
});

test('errno failures become BackstoreIoError with direction, lba and cause', async () => {
  for (const [op, direction] of [['read', 'read'], ['writev', 'write'], ['fdatasync', 'flush']] as const) {
    const f = fake(8192, 1 << 20);
    f.fail = { op, code: 'EIO' };
    const dev = device(f);
    const run = op === 'read' ? dev.read(3, 1) : op === 'writev' ? dev.write(3, [Buffer.alloc(512)]) : dev.flush();
    await assert.rejects(run, (e: unknown) => {
      assert.ok(e instanceof BackstoreIoError, String(e));
      assert.equal(e.direction, direction);
      assert.equal(e.lba, op === 'fdatasync' ? 0 : 3);
      assert.equal(e.code, 'TSGT_ERR_BACKSTORE_IO');
      assert.match(e.message, /fake: .*EIO/);
      assert.equal((e.cause as { code?: string }).code, 'EIO');
      return true;
    });
  }
});

test('a write that makes no progress fails instead of spinning', async () => {
  const f = fake(8192, 0);
  const dev = device(f);
  await assert.rejects(dev.write(0, [Buffer.alloc(512)]), (e: unknown) => e instanceof BackstoreIoError && /no progress/.test(e.message));
});

test('write_back false routes writes to the sync descriptor; FUA does too when cached', async () => {
  const f = fake(8192, 1 << 20);
  const uncached = device(f, 512, 16, false);
  await uncached.write(0, [Buffer.alloc(512)]);
  const cached = device(f, 512, 16, true);
  await cached.write(0, [Buffer.alloc(512)]);
  await cached.write(0, [Buffer.alloc(512)], { fua: true });
  assert.deepEqual(f.calls, ['writev 11 0 1', 'writev 10 0 1', 'writev 11 0 1']);
});

test('close waits for in-flight I/O before closing the descriptors', async () => {
  const f = fake(8192, 1 << 20);
  f.delay = 20;
  const dev = device(f);
  const reading = dev.read(0, 4);
  const closing = dev.close();
  await assert.rejects(dev.read(0, 1), BackstoreIoError, 'new I/O is refused once closing');
  assert.deepEqual(f.closed, [], 'descriptors still open while a read is in flight');
  await reading;
  await closing;
  assert.deepEqual(f.closed.sort(), [10, 11]);
});
