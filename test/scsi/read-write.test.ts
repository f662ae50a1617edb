import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, clearUnitAttentions, run, sense, cdb10, cdb16, request } from './harness.js';
import { ioError } from './memory-device.js';

const READ10 = 0x28;
const WRITE10 = 0x2a;

async function ready(opts = {}) {
  const f = fixture(opts);
  const n = f.open('a');
  await clearUnitAttentions(n);
  return { f, n };
}

test('WRITE(10) then READ(10) round trip, zero-copy iovec to the device', async () => {
  const { f, n } = await ready();
  const data = Buffer.alloc(1024, 0xa6);
  data[700] = 1;
  const w = await run(n, cdb10(WRITE10, 10, 2), { data });
  assert.equal(w.status, 0);
  assert.equal(w.transferLength, 1024);
  assert.deepEqual(f.dev.log.at(-1), { op: 'write', lba: 10, blocks: 2, fua: false });
  const r = await run(n, cdb10(READ10, 10, 2), { edtl: 1024 });
  assert.equal(r.status, 0);
  assert.ok(r.data!.equals(data));
  assert.equal(r.transferLength, 1024);
});

test('FUA on WRITE(16) reaches the backstore; DPO/FUA accepted on READ', async () => {
  const { f, n } = await ready();
  const w = await run(n, cdb16(0x8a, 3n, 1, 0x08), { data: Buffer.alloc(512, 1) });
  assert.equal(w.status, 0);
  assert.equal(f.dev.log.at(-1)?.fua, true);
  const r = await run(n, cdb10(READ10, 3, 1, 0x18), { edtl: 512 });
  assert.equal(r.status, 0);
  assert.equal(r.data![0], 1);
});

test('READ(6)/WRITE(6): transfer length 0 means 256 blocks', async () => {
  const { f, n } = await ready();
  const data = Buffer.alloc(256 * 512, 7);
  const w = await run(n, [0x0a, 0, 0, 4, 0, 0], { data });
  assert.equal(w.status, 0);
  assert.deepEqual(f.dev.log.at(-1), { op: 'write', lba: 4, blocks: 256, fua: false });
  const r = await run(n, [0x08, 0, 0, 4, 0, 0], { edtl: 256 * 512 });
  assert.equal(r.data!.length, 256 * 512);
});

test('transfer length 0 moves no data and does not touch the device', async () => {
  const { f, n } = await ready();
  const before = f.dev.log.length;
  assert.equal((await run(n, cdb10(READ10, 0, 0))).status, 0);
  assert.equal((await run(n, cdb10(WRITE10, 0, 0))).status, 0);
  assert.equal(f.dev.log.length, before);
});

test('LBA out of range: past the end, 0 blocks past end+1, 2^64-1', async () => {
  const { n } = await ready({ blockCount: 100 });
  for (const [lba, blocks] of [
    [100, 1],
    [99, 2],
    [101, 0],
    [0x80000000, 1],
    [0xffffffff, 1],
  ]) {
    const r = await run(n, cdb10(READ10, lba, blocks), { edtl: blocks * 512 });
    assert.equal(r.status, 2, `lba ${lba}`);
    assert.deepEqual([sense(r).key, sense(r).asc], [5, 0x21]);
  }
  assert.equal((await run(n, cdb10(READ10, 100, 0))).status, 0);
  assert.equal((await run(n, cdb10(READ10, 99, 1), { edtl: 512 })).status, 0);
  const big = await run(n, cdb16(0x88, 0xffffffffffffffffn, 1), { edtl: 512 });
  assert.equal(sense(big).asc, 0x21);
  const w = await run(n, cdb16(0x8a, 1n << 60n, 1), { data: Buffer.alloc(512) });
  assert.equal(sense(w).asc, 0x21);
});

test('RDPROTECT/WRPROTECT non-zero is INVALID FIELD IN CDB (no protection information)', async () => {
  const { n } = await ready();
  for (let p = 1; p < 8; p++) {
    const r = await run(n, cdb10(READ10, 0, 1, p << 5), { edtl: 512 });
    assert.deepEqual([sense(r).key, sense(r).asc], [5, 0x24]);
    const w = await run(n, cdb10(WRITE10, 0, 1, p << 5), { data: Buffer.alloc(512) });
    assert.deepEqual([sense(w).key, sense(w).asc], [5, 0x24]);
  }
});

test('transfer length above the block limits maximum is INVALID FIELD IN CDB', async () => {
  const { n } = await ready({ blockCount: 100000 });
  const max = (8 * 1024 * 1024) / 512;
  const r = await run(n, cdb10(READ10, 0, max + 1), { edtl: (max + 1) * 512 });
  assert.deepEqual([sense(r).key, sense(r).asc], [5, 0x24]);
  assert.equal(sense(r).sks?.readUInt16BE(1), 7);
});

test('read residuals follow libiscsi test_read10_residuals', async () => {
  const { n } = await ready();
  // EDTL 0: GOOD, overflow of one block.
  let r = await run(n, cdb10(READ10, 0, 1), { edtl: 0 });
  assert.equal(r.status, 0);
  assert.equal(r.transferLength, 512);
  // EDTL 10000: one block, underflow.
  r = await run(n, cdb10(READ10, 0, 1), { edtl: 10000 });
  assert.equal(r.data!.length, 512);
  assert.equal(r.transferLength, 512);
  // EDTL 200: at least 200 bytes available to send, SPDTL 512.
  r = await run(n, cdb10(READ10, 0, 1), { edtl: 200 });
  assert.ok(r.data!.length >= 200);
  assert.equal(r.transferLength, 512);
  // Two blocks, EDTL one block: only one block read.
  r = await run(n, cdb10(READ10, 0, 2), { edtl: 512 });
  assert.equal(r.data!.length, 512);
  assert.equal(r.transferLength, 1024);
});

test('write residuals follow libiscsi test_write10_residuals', async () => {
  const { f, n } = await ready();
  // EDTL 0, 1 block: GOOD, nothing written, overflow.
  let req = request(cdb10(WRITE10, 0, 1), { edtl: 0, direction: 'none' });
  let r = (await n.execute(req).outcome) as { status: number; transferLength?: number };
  assert.equal(r.status, 0);
  assert.equal(r.transferLength, 512);
  assert.deepEqual(req.received, []);
  // EDTL 10000, 1 block: only 512 bytes requested from the transport.
  req = request(cdb10(WRITE10, 0, 1), { data: Buffer.alloc(10000, 0x62) });
  r = (await n.execute(req).outcome) as { status: number; transferLength?: number };
  assert.equal(r.status, 0);
  assert.equal(r.transferLength, 512);
  assert.deepEqual(req.received, [512]);
  // EDTL 200 < one block: INVALID FIELD IN COMMAND IU, nothing written, overflow.
  f.dev.bytes.fill(0x61, 0, 1024);
  req = request(cdb10(WRITE10, 0, 1), { data: Buffer.alloc(200, 0x62) });
  const bad = (await n.execute(req).outcome) as { status: number; transferLength?: number; sense?: Buffer };
  assert.equal(bad.status, 2);
  assert.equal(bad.transferLength, 512);
  assert.deepEqual([bad.sense![2] & 0xf, bad.sense![12], bad.sense![13]], [5, 0x0e, 0x03]);
  assert.equal(f.dev.bytes[0], 0x61);
  // Two blocks, EDTL one block: first block written, second untouched, overflow.
  req = request(cdb10(WRITE10, 0, 2), { data: Buffer.alloc(512, 0x62) });
  r = (await n.execute(req).outcome) as { status: number; transferLength?: number };
  assert.equal(r.status, 0);
  assert.equal(r.transferLength, 1024);
  assert.equal(f.dev.bytes[0], 0x62);
  assert.equal(f.dev.bytes[511], 0x62);
  assert.equal(f.dev.bytes[512], 0x61);
});

test('a READ flagged as a write on the transport still succeeds (libiscsi test_read10_invalid)', async () => {
  const { n } = await ready();
  const req = request(cdb10(READ10, 0, 1), { data: Buffer.alloc(512), direction: 'write' });
  const r = (await n.execute(req).outcome) as { status: number };
  assert.equal(r.status, 0);
  assert.deepEqual(req.received, []);
});

test('backstore errors become MEDIUM ERROR / HARDWARE ERROR sense, never a crash', async () => {
  const { f, n } = await ready();
  f.dev.failNext = { op: 'read', error: ioError('read', 7) };
  let r = await run(n, cdb10(READ10, 7, 1), { edtl: 512 });
  assert.deepEqual([sense(r).key, sense(r).asc, sense(r).ascq, sense(r).information], [3, 0x11, 0, 7]);
  f.dev.failNext = { op: 'write', error: ioError('write', 9) };
  r = await run(n, cdb10(WRITE10, 9, 1), { data: Buffer.alloc(512) });
  assert.deepEqual([sense(r).key, sense(r).asc], [3, 0x0c]);
  f.dev.failNext = { op: 'read', error: new Error('boom') };
  r = await run(n, cdb10(READ10, 0, 1), { edtl: 512 });
  assert.deepEqual([sense(r).key, sense(r).asc], [4, 0x44]);
  f.dev.failNext = { op: 'flush', error: new Error('boom') };
  r = await run(n, [0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([sense(r).key, sense(r).asc], [4, 0x44]);
});

test('VERIFY(10) BYTCHK=1 compares; a mismatch reports MISCOMPARE with the byte offset', async () => {
  const { f, n } = await ready();
  f.dev.bytes.fill(0x33, 0, 2048);
  const good = await run(n, cdb10(0x2f, 0, 4, 0x02), { data: Buffer.alloc(2048, 0x33) });
  assert.equal(good.status, 0);
  const bad = Buffer.alloc(2048, 0x33);
  bad[1500] = 0;
  const r = await run(n, cdb10(0x2f, 0, 4, 0x02), { data: bad });
  assert.deepEqual([sense(r).key, sense(r).asc, sense(r).information], [0x0e, 0x1d, 1500]);
  // BYTCHK=0: no data, just a medium check.
  assert.equal((await run(n, cdb10(0x2f, 0, 4, 0))).status, 0);
  // BYTCHK=3: one block compared against every block.
  assert.equal((await run(n, cdb10(0x2f, 0, 4, 0x06), { data: Buffer.alloc(512, 0x33) })).status, 0);
  const r3 = await run(n, cdb10(0x2f, 0, 5, 0x06), { data: Buffer.alloc(512, 0x33) });
  assert.equal(sense(r3).information, 4 * 512);
  // BYTCHK=2 is reserved.
  assert.equal(sense(await run(n, cdb10(0x2f, 0, 1, 0x04))).asc, 0x24);
  // Out of range even with 0 blocks.
  assert.equal(sense(await run(n, cdb10(0x2f, 1025, 0, 0x02))).asc, 0x21);
});

test('WRITE AND VERIFY(10) writes durably', async () => {
  const { f, n } = await ready();
  const r = await run(n, cdb10(0x2e, 5, 1, 0x02), { data: Buffer.alloc(512, 9) });
  assert.equal(r.status, 0);
  assert.equal(f.dev.bytes[5 * 512], 9);
  assert.ok(f.dev.log.some((e) => e.op === 'write' && e.fua === true));
});

test('SYNCHRONIZE CACHE(10/16) flushes and range-checks', async () => {
  const { f, n } = await ready({ blockCount: 100 });
  assert.equal((await run(n, [0x35, 0x02, 0, 0, 0, 0, 0, 0, 0, 0])).status, 0);
  assert.equal(f.dev.flushes, 1);
  assert.equal((await run(n, cdb16(0x91, 50n, 0))).status, 0);
  assert.equal(sense(await run(n, [0x35, 0, 0, 0, 0, 99, 0, 0, 2, 0])).asc, 0x21);
});
