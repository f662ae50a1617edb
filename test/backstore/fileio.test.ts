import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileio } from '../../src/backstore/fileio.js';
import { BackstoreOpenError } from '../../src/backstore/errors.js';
import { BackstoreIoError } from '../../src/backstore/types.js';
import { NODE_FD_OPS, type FdOps } from '../../src/backstore/fdio.js';
import { loadNativeBlockIo } from '../../src/native/blockio.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'tsgt-fileio-'));
}

function pattern(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

test('a missing file is created sparse at the configured size, parent directory included', async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'a', 'b', 'disk.img');
    const dev = await openFileio({ dev: path, size: 64 << 20, write_back: true, blockSize: 512 });
    try {
      const st = statSync(path);
      assert.equal(st.size, 64 << 20);
      assert.ok(st.blocks * 512 < 1 << 20, `allocated ${st.blocks * 512} bytes, expected a sparse file`);
      assert.equal(st.mode & 0o777, 0o600);
      assert.equal(dev.blockCount, (64 << 20) / 512);
      assert.equal(dev.blockSize, 512);
      assert.equal(dev.writeCache, true);
      assert.equal(dev.readOnly, false);
      // Deallocation is advertised exactly when the native addon can punch holes here (see fileio-thin.test.ts).
      assert.equal(typeof dev.unmap, loadNativeBlockIo().io ? 'function' : 'undefined');
      const zeros = await dev.read(1000, 8);
      assert.ok(zeros.equals(Buffer.alloc(4096)));
    } finally {
      await dev.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('write then read back, iovec writes, read into a caller buffer (zero copy)', async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'disk.img');
    const dev = await openFileio({ dev: path, size: 1 << 20, write_back: false, blockSize: 4096 });
    try {
      const data = pattern(3 * 4096, 7);
      // iovec: uneven pieces that together make whole blocks
      await dev.write(10, [data.subarray(0, 100), data.subarray(100, 5000), data.subarray(5000)]);
      const into = Buffer.alloc(4 * 4096, 0xee);
      const got = await dev.read(10, 3, into);
      assert.equal(got, into, 'the caller buffer is returned');
      assert.ok(into.subarray(0, 3 * 4096).equals(data));
      assert.ok(into.subarray(3 * 4096).equals(Buffer.alloc(4096, 0xee)), 'bytes past the request untouched');
      const file = readFileSync(path);
      assert.ok(file.subarray(10 * 4096, 13 * 4096).equals(data));
      await dev.flush();
    } finally {
      await dev.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an existing shorter file is extended sparse; no size means the file size', async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'disk.img');
    writeFileSync(path, pattern(8192, 1));
    const dev = await openFileio({ dev: path, size: 1 << 20, write_back: true, blockSize: 512 });
    assert.equal(statSync(path).size, 1 << 20);
    assert.ok((await dev.read(0, 16)).equals(pattern(8192, 1)), 'existing data kept');
    await dev.close();
    const again = await openFileio({ dev: path, write_back: true, blockSize: 512 });
    assert.equal(again.blockCount, (1 << 20) / 512);
    await again.close();
    // a size smaller than the file limits the device and does not truncate the file
    const small = await openFileio({ dev: path, size: 4096, write_back: true, blockSize: 512 });
    assert.equal(small.blockCount, 8);
    assert.equal(statSync(path).size, 1 << 20);
    await assert.rejects(small.read(8, 1), RangeError);
    await small.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reads past the end of a shorter read-only file return zeros', async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'disk.img');
    writeFileSync(path, pattern(1000 + 512, 3)); // ends mid-block
    const dev = await openFileio({ dev: path, size: 16384, write_back: false, blockSize: 512, readOnly: true });
    try {
      assert.equal(statSync(path).size, 1512, 'read-only: the file is not extended');
      const b = await dev.read(0, 32);
      assert.ok(b.subarray(0, 1512).equals(pattern(1512, 3)));
      assert.ok(b.subarray(1512).equals(Buffer.alloc(16384 - 1512)));
      const dirty = Buffer.alloc(512 * 4, 0xff);
      await dev.read(20, 4, dirty);
      assert.ok(dirty.equals(Buffer.alloc(2048)), 'zero-filled even into a dirty caller buffer');
      await assert.rejects(dev.write(0, [Buffer.alloc(512)]), (e: unknown) => e instanceof BackstoreIoError && e.direction === 'write');
      await dev.flush();
    } finally {
      await dev.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('open errors are BackstoreOpenError with a clear message', async () => {
  const dir = tmp();
  try {
    mkdirSync(join(dir, 'adir'));
    await assert.rejects(openFileio({ dev: join(dir, 'adir'), size: 4096, write_back: true, blockSize: 512, name: 'd0' }), (e: unknown) => {
      assert.ok(e instanceof BackstoreOpenError);
      assert.match(e.message, /fileio d0 .*is a directory/);
      assert.equal(e.storageObject, 'd0');
      return true;
    });
    await assert.rejects(openFileio({ dev: join(dir, 'missing.img'), write_back: true, blockSize: 512 }), /does not exist and no size/);
    await assert.rejects(openFileio({ dev: join(dir, 'missing.img'), size: 4096, readOnly: true, write_back: false, blockSize: 512 }), /read-only/);
    writeFileSync(join(dir, 'tiny.img'), Buffer.alloc(100));
    await assert.rejects(openFileio({ dev: join(dir, 'tiny.img'), write_back: true, blockSize: 512 }), /smaller than one 512-byte block/);
    await assert.rejects(openFileio({ dev: join(dir, 'x.img'), size: -1, write_back: true, blockSize: 512 }), BackstoreOpenError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Real fs calls, recording which descriptor each writev and fdatasync used. */
function recordingOps(log: string[]): FdOps {
  return {
    ...NODE_FD_OPS,
    writev: (fd, bufs, pos, cb) => {
      log.push(`writev:${fd}`);
      NODE_FD_OPS.writev(fd, bufs, pos, cb);
    },
    fdatasync: (fd, cb) => {
      log.push(`fdatasync:${fd}`);
      NODE_FD_OPS.fdatasync(fd, cb);
    },
    read: (fd, buf, off, len, pos, cb) => {
      log.push(`read:${fd}`);
      NODE_FD_OPS.read(fd, buf, off, len, pos, cb);
    },
  };
}

test('write_back false: every write goes through the O_DSYNC descriptor', async () => {
  const dir = tmp();
  try {
    const log: string[] = [];
    const dev = await openFileio({ dev: join(dir, 'd.img'), size: 1 << 20, write_back: false, blockSize: 512, ops: recordingOps(log) });
    try {
      assert.equal(dev.writeCache, false);
      await dev.read(0, 1);
      await dev.write(0, [Buffer.alloc(512, 1)]);
      await dev.write(1, [Buffer.alloc(512, 2)], { fua: true });
      const readFd = log[0].split(':')[1];
      const writes = log.filter((l) => l.startsWith('writev'));
      assert.equal(writes.length, 2);
      for (const w of writes) assert.notEqual(w.split(':')[1], readFd, 'durable fd differs from the cached one');
      // the dsync descriptor really is O_DSYNC
      const syncFd = Number(writes[0].split(':')[1]);
      const flags = readFileSync(`/proc/self/fdinfo/${syncFd}`, 'utf8').match(/flags:\s+([0-7]+)/)?.[1];
      assert.ok(flags && (parseInt(flags, 8) & fs.constants.O_DSYNC) !== 0, `fd ${syncFd} flags ${flags}`);
    } finally {
      await dev.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('write_back true: plain writes are cached, FUA writes durable, flush is fdatasync', async () => {
  const dir = tmp();
  try {
    const log: string[] = [];
    const dev = await openFileio({ dev: join(dir, 'd.img'), size: 1 << 20, write_back: true, blockSize: 512, ops: recordingOps(log) });
    try {
      await dev.read(0, 1);
      const mainFd = log[0].split(':')[1];
      await dev.write(0, [Buffer.alloc(512, 1)]);
      await dev.write(1, [Buffer.alloc(512, 2)], { fua: true });
      await dev.flush();
      assert.deepEqual(log.slice(1).map((l) => l.replace(`:${mainFd}`, ':main')), ['writev:main', log[2], 'fdatasync:main']);
      assert.notEqual(log[2], 'writev:main');
    } finally {
      await dev.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeZeroes writes zeros over a range, in pieces larger than one iovec run', async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'd.img');
    const dev = await openFileio({ dev: path, size: 4 << 20, write_back: true, blockSize: 512 });
    try {
      await dev.write(0, [Buffer.alloc(4 << 20, 0xab)]);
      await dev.writeZeroes!(1, (3 << 20) / 512);
      const all = await dev.read(0, (4 << 20) / 512);
      assert.ok(all.subarray(0, 512).equals(Buffer.alloc(512, 0xab)));
      assert.ok(all.subarray(512, 512 + (3 << 20)).equals(Buffer.alloc(3 << 20)));
      assert.ok(all.subarray(512 + (3 << 20)).equals(Buffer.alloc((1 << 20) - 512, 0xab)));
    } finally {
      await dev.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('argument errors are RangeErrors; use after close is a BackstoreIoError', async () => {
  const dir = tmp();
  try {
    const dev = await openFileio({ dev: join(dir, 'd.img'), size: 8192, write_back: true, blockSize: 512 });
    await assert.rejects(dev.read(15, 2), RangeError);
    await assert.rejects(dev.read(-1, 1), RangeError);
    await assert.rejects(dev.read(0, 2, Buffer.alloc(512)), RangeError);
    await assert.rejects(dev.write(0, [Buffer.alloc(100)]), RangeError);
    await assert.rejects(dev.write(16, [Buffer.alloc(512)]), RangeError);
    await dev.close();
    await dev.close(); // idempotent
    await assert.rejects(dev.read(0, 1), (e: unknown) => e instanceof BackstoreIoError && e.direction === 'read' && /closed/.test(e.message));
    await assert.rejects(dev.write(0, [Buffer.alloc(512)]), BackstoreIoError);
    await assert.rejects(dev.flush(), BackstoreIoError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
