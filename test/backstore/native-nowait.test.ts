// The addon's synchronous RWF_NOWAIT calls: page-cache hits copy, bad
// arguments throw, failures come back as negated errno values.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EOPNOTSUPP, loadNativeBlockIo } from '../../src/native/blockio.js';

const io = loadNativeBlockIo().io;
const skip = (process.platform !== 'linux' || io?.preadNowait === undefined) && 'needs the Linux addon';

function withFile(fn: (fd: number) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'tsgt-nowait-'));
  const path = join(dir, 'f.img');
  const content = Buffer.alloc(16384);
  for (let i = 0; i < content.length; i++) content[i] = (i * 13) & 0xff;
  fs.writeFileSync(path, content);
  const fd = fs.openSync(path, 'r+');
  try {
    fn(fd);
  } finally {
    fs.closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

test('preadNowait returns cached bytes (or -EAGAIN / -EOPNOTSUPP), and 0 at end of file', { skip }, () => {
  withFile((fd) => {
    const expected = fs.readFileSync(`/proc/self/fd/${fd}`);
    const buf = Buffer.alloc(4096 + 8, 0xee);
    const n = io!.preadNowait!(fd, buf, 8, 4096, 4096);
    if (n === -EOPNOTSUPP) return; // file system without RWF_NOWAIT (tmpfs on Linux 6.x)
    assert.ok(n === -11 || n === 4096, `unexpected result ${n}`);
    if (n === 4096) {
      assert.deepEqual(buf.subarray(8), expected.subarray(4096, 8192));
      assert.deepEqual(buf.subarray(0, 8), Buffer.alloc(8, 0xee));
    }
    assert.equal(io!.preadNowait!(fd, buf, 0, 512, 1 << 20), 0);
  });
});

test('pwritevNowait writes or declines with a negated errno; never throws for I/O failures', { skip }, () => {
  withFile((fd) => {
    const n = io!.pwritevNowait!(fd, [Buffer.alloc(100, 1), Buffer.alloc(0), Buffer.alloc(412, 2)], 512);
    assert.ok(n === 512 || n < 0, `unexpected result ${n}`);
    if (n === 512) {
      const back = Buffer.alloc(512);
      fs.readSync(fd, back, 0, 512, 512);
      assert.deepEqual(back, Buffer.concat([Buffer.alloc(100, 1), Buffer.alloc(412, 2)]));
    }
    const ro = fs.openSync(`/proc/self/fd/${fd}`, 'r');
    try {
      assert.ok(io!.pwritevNowait!(ro, [Buffer.alloc(512)], 0) < 0, 'writing a read-only descriptor fails');
    } finally {
      fs.closeSync(ro);
    }
  });
});

test('bad arguments throw TypeError synchronously; a bad descriptor is -EBADF', { skip }, () => {
  const buf = Buffer.alloc(16);
  assert.throws(() => io!.preadNowait!(0, buf, 8, 16, 0), TypeError);
  assert.throws(() => io!.preadNowait!(-1, buf, 0, 16, 0), TypeError);
  assert.throws(() => io!.pwritevNowait!(0, ['x' as unknown as Buffer], 0), TypeError);
  assert.equal(io!.preadNowait!(1 << 30, buf, 0, 16, 0), -9);
});
