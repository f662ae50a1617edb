import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataOutCollector, type R2tRequest } from '../../src/iscsi/data-out-collector.js';
import { RESERVED_TAG } from '../../src/pdu/types.js';

function collector(edtl: number, immediate: Buffer, unsolicited: boolean, opts: { firstBurst?: number; maxBurst?: number; maxR2T?: number } = {}) {
  const r2ts: R2tRequest[] = [];
  let ttt = 100;
  const c = new DataOutCollector(
    edtl,
    immediate,
    unsolicited,
    opts.firstBurst ?? 65536,
    { maxBurstLength: opts.maxBurst ?? 65536, maxOutstandingR2T: opts.maxR2T ?? 1 },
    () => ttt++,
    (r) => r2ts.push(r),
  );
  return { c, r2ts };
}

const flat = (bufs: Buffer[]) => Buffer.concat(bufs);

test('immediate data alone satisfies a small write without R2T', async () => {
  const data = Buffer.alloc(512, 7);
  const { c, r2ts } = collector(512, data, false);
  assert.deepEqual(flat(await c.want(512)), data);
  assert.equal(r2ts.length, 0);
});

test('R2Ts cover the rest in MaxBurstLength pieces, one outstanding at a time', async () => {
  const data = Buffer.alloc(10000);
  for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
  const { c, r2ts } = collector(10000, data.subarray(0, 1000), false, { maxBurst: 4096, maxR2T: 1 });
  const p = c.want(10000);
  assert.deepEqual(r2ts.map((r) => [r.bufferOffset, r.desiredLength, r.r2tSn]), [[1000, 4096, 0]]);
  assert.deepEqual(c.accept(r2ts[0].ttt, 0, 1000, data.subarray(1000, 5096), true), { kind: 'ok' });
  assert.deepEqual(r2ts.map((r) => [r.bufferOffset, r.desiredLength]).slice(1), [[5096, 4096]]);
  c.accept(r2ts[1].ttt, 0, 5096, data.subarray(5096, 7000), false);
  c.accept(r2ts[1].ttt, 1, 7000, data.subarray(7000, 9192), true);
  c.accept(r2ts[2].ttt, 0, 9192, data.subarray(9192), true);
  assert.deepEqual(flat(await p), data);
});

test('unsolicited burst up to FirstBurstLength uses the reserved TTT', async () => {
  const data = Buffer.alloc(8192, 3);
  const { c, r2ts } = collector(8192, data.subarray(0, 512), true, { firstBurst: 4096 });
  assert.equal(c.unsolicitedEnd, 4096);
  const p = c.want(8192);
  assert.equal(r2ts[0].bufferOffset, 4096, 'R2T only after the unsolicited region');
  assert.deepEqual(c.accept(RESERVED_TAG, 0, 512, data.subarray(512, 4096), true), { kind: 'ok' });
  c.accept(r2ts[0].ttt, 0, 4096, data.subarray(4096), true);
  assert.equal(flat(await p).length, 8192);
});

test('protocol violations are fatal: wrong DataSN, offset, overrun, unknown TTT, early F', () => {
  const mk = () => {
    const { c, r2ts } = collector(4096, Buffer.alloc(0), false, { maxBurst: 4096 });
    void c.want(4096).catch(() => {});
    return { c, ttt: r2ts[0].ttt };
  };
  let x = mk();
  assert.equal(x.c.accept(x.ttt, 1, 0, Buffer.alloc(512), false).kind, 'fatal');
  x = mk();
  assert.equal(x.c.accept(x.ttt, 0, 512, Buffer.alloc(512), false).kind, 'fatal');
  x = mk();
  assert.equal(x.c.accept(x.ttt, 0, 0, Buffer.alloc(8192), true).kind, 'fatal');
  x = mk();
  assert.equal(x.c.accept(x.ttt + 9, 0, 0, Buffer.alloc(512), false).kind, 'fatal');
  x = mk();
  assert.equal(x.c.accept(x.ttt, 0, 0, Buffer.alloc(512), true).kind, 'fatal');
  x = mk();
  assert.equal(x.c.accept(RESERVED_TAG, 0, 0, Buffer.alloc(512), false).kind, 'fatal', 'no unsolicited burst open');
});

test('fail() rejects a pending want and forgets open R2Ts', async () => {
  const { c } = collector(4096, Buffer.alloc(0), false);
  const p = c.want(4096);
  assert.equal(c.openTags().length, 1);
  c.fail(new Error('aborted'));
  await assert.rejects(p, /aborted/);
  assert.equal(c.openTags().length, 0);
});

test('want() of fewer bytes than received trims the iovec without copying', async () => {
  const imm = Buffer.alloc(1024, 9);
  const { c } = collector(1024, imm, false);
  const got = await c.want(600);
  assert.equal(got.length, 1);
  assert.equal(got[0].length, 600);
  assert.equal(got[0].buffer, imm.buffer, 'a view of the received buffer');
});
