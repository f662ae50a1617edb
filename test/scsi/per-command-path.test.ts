// The per-command fast paths of dispatch.ts / task-set.ts / sbc: they must
// behave like the general paths they shortcut.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ABORTED, ScsiStatus } from '../../src/scsi/api.js';
import { TaskSet } from '../../src/scsi/task-set.js';
import { iovecPrefix, parseBlockCdb, parseBlockIo, trimIovec } from '../../src/scsi/sbc/block-cdb.js';
import { cdb10, clearUnitAttentions, fixture, request } from './harness.js';

test('receiveDataHeld: a write whose data the transport holds runs without receiveData / receiveDataReady', async () => {
  const f = fixture();
  const n = f.open('a');
  await clearUnitAttentions(n);
  const data = Buffer.alloc(1024, 0x5a);
  const calls: string[] = [];
  const req = {
    ...request(cdb10(0x2a, 8, 2), { data }),
    receiveData: () => {
      calls.push('receiveData');
      return Promise.resolve([data]);
    },
    receiveDataReady: () => {
      calls.push('receiveDataReady');
      return Promise.resolve([data]);
    },
    receiveDataHeld: (length: number) => {
      calls.push(`held ${length}`);
      return [data];
    },
  };
  const out = await n.execute(req).outcome;
  assert.notEqual(out, ABORTED);
  assert.equal((out as { status: number }).status, ScsiStatus.Good);
  assert.deepEqual(calls, ['held 1024']);
  assert.ok(f.dev.bytes.subarray(8 * 512, 10 * 512).equals(data));
});

test('receiveDataHeld returning undefined falls back to receiveData', async () => {
  const f = fixture();
  const n = f.open('a');
  await clearUnitAttentions(n);
  const data = Buffer.alloc(512, 0x33);
  const req = { ...request(cdb10(0x2a, 3, 1), { data }), receiveDataHeld: () => undefined };
  const out = await n.execute(req).outcome;
  assert.equal((out as { status: number }).status, ScsiStatus.Good);
  assert.deepEqual(req.received, [512]);
  assert.ok(f.dev.bytes.subarray(3 * 512, 4 * 512).equals(data));
});

test('a held write that overlaps an older write still waits for it (task-set ordering)', async () => {
  const f = fixture();
  const n = f.open('a');
  await clearUnitAttentions(n);
  let release: (b: Buffer[]) => void = () => undefined;
  const first = Buffer.alloc(512, 1);
  const second = Buffer.alloc(512, 2);
  // The first write's data is late; the second (same block) has its data at hand.
  const a = n.execute({ ...request(cdb10(0x2a, 20, 1), { data: first }), receiveData: () => new Promise<Buffer[]>((r) => (release = r)) }).outcome;
  const b = n.execute({ ...request(cdb10(0x2a, 20, 1), { data: second }), receiveDataHeld: () => [second] }).outcome;
  await new Promise((r) => setImmediate(r));
  release([first]);
  await Promise.all([a, b]);
  assert.ok(f.dev.bytes.subarray(20 * 512, 21 * 512).equals(second), 'the younger write lands last');
});

test('TaskSet.admit: no waitFor array when nothing is older; the same tasks as enter() otherwise', () => {
  const set = new TaskSet();
  const a = set.admit('n', 1, 'simple', { lba: 0, blocks: 8, write: true });
  assert.equal(a.waitFor, undefined);
  const b = set.admit('n', 2, 'simple', { lba: 100, blocks: 8, write: true });
  assert.equal(b.waitFor, undefined, 'disjoint extents do not wait');
  const c = set.admit('n', 3, 'simple', { lba: 4, blocks: 1, write: false });
  assert.equal(c.waitFor?.length, 1, 'overlaps the write at 0..7');
  const d = set.admit('n', 4, 'ordered', undefined);
  assert.equal(d.waitFor?.length, 3);
  const { waitFor } = set.enter('n', 5, 'head-of-queue', undefined);
  assert.equal(waitFor.length, 0);
  for (const e of [a, b, c, d]) set.leave(e);
  assert.equal(set.size, 1);
});

test('parseBlockIo agrees with parseBlockCdb (6/10/12/16-byte CDBs) and carries the extent', () => {
  const geometry = { blockSize: 512, blockCount: 5000, maxTransferBlocks: 300 };
  fc.assert(
    fc.property(fc.constantFrom(6, 10, 12, 16), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.boolean(), (size, bytes, write) => {
      const cdb = Buffer.from(bytes);
      const io = parseBlockIo(cdb, size, geometry, write);
      const ref = parseBlockCdb(cdb, size, geometry, true);
      if ('kind' in ref) {
        assert.deepEqual(io, ref);
      } else {
        assert.deepEqual(io, { ...ref, write });
      }
    }),
    { numRuns: 2000 },
  );
  // And with a valid CDB so that the success path is surely taken.
  assert.deepEqual(parseBlockIo(Buffer.from(cdb10(0x28, 7, 3)), 10, geometry, false), { lba: 7, blocks: 3, flags: 0, write: false });
});

test('iovecPrefix: the same bytes as trimIovec, and the list itself when it already is exact', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 6 }), fc.nat(), (sizes, cut) => {
      const bufs = sizes.map((n, k) => Buffer.alloc(n, k + 1));
      const total = sizes.reduce((x, y) => x + y, 0);
      const length = total === 0 ? 0 : cut % (total + 1);
      const got = iovecPrefix(bufs, length);
      assert.ok(Buffer.concat([...got]).equals(Buffer.concat(trimIovec(bufs, length))));
      if (length === total) assert.equal(got, bufs);
    }),
  );
});

test('a capacity change reaches the CDB checks of the next command (geometry is not kept stale)', async () => {
  const f = fixture({ blockCount: 64 });
  const n = f.open('a');
  await clearUnitAttentions(n);
  const read = (lba: number) => n.execute(request(cdb10(0x28, lba, 1), { edtl: 512 })).outcome;
  assert.equal(((await read(63)) as { status: number }).status, ScsiStatus.Good);
  f.dev.blockCount = 32;
  const r = await read(63);
  assert.notEqual(r, ABORTED);
  assert.equal((r as { status: number }).status, ScsiStatus.CheckCondition, 'LBA 63 is out of range now');
  f.dev.blockCount = 64;
  assert.equal(((await read(63)) as { status: number }).status, ScsiStatus.Good, 'and back in range');
});
