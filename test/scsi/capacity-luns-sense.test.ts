import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, clearUnitAttentions, run, sense, makeUnit, makeView, makeNexus } from './harness.js';
import { memoryDevice } from './memory-device.js';
import { openNexus, lunInventoryChanged, capacityChanged } from '../../src/scsi/nexus.js';

test('READ CAPACITY(10) and (16)', async () => {
  const f = fixture({ blockCount: 2048, blockSize: 4096 });
  const n = f.open('a');
  await clearUnitAttentions(n);
  const r10 = await run(n, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], { edtl: 8 });
  assert.equal(r10.data!.readUInt32BE(0), 2047);
  assert.equal(r10.data!.readUInt32BE(4), 4096);
  const r16 = await run(n, [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], { edtl: 32 });
  assert.equal(r16.data!.length, 32);
  assert.equal(Number(r16.data!.readBigUInt64BE(0)), 2047);
  assert.equal(r16.data!.readUInt32BE(8), 4096);
  assert.equal(r16.data![12], 0);
  assert.equal(r16.data![14] & 0xc0, 0);
  // Allocation length 0..15 is not an error.
  for (let i = 0; i < 16; i++) {
    const r = await run(n, [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, i, 0, 0], { edtl: i });
    assert.equal(r.status, 0);
    assert.equal(r.data?.length ?? 0, i);
  }
  // Unknown SERVICE ACTION IN(16) service action.
  assert.equal(sense(await run(n, [0x9e, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0])).asc, 0x24);
  // READ CAPACITY(10) with LBA≠0 and PMI=0.
  assert.equal(sense(await run(n, [0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0])).asc, 0x24);
});

test('READ CAPACITY(10) clamps to FFFFFFFFh for huge LUs', async () => {
  const dev = memoryDevice({ blockCount: 16 });
  (dev as { blockCount: number }).blockCount = 2 ** 33;
  const unit = makeUnit(dev);
  const n = openNexus(makeNexus('a'), makeView([{ lun: 0, unit, writeProtect: false }]), { units: () => [unit] });
  await clearUnitAttentions(n);
  const r = await run(n, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], { edtl: 8 });
  assert.equal(r.data!.readUInt32BE(0), 0xffffffff);
});

test('REPORT LUNS lists mapped LUNs with SAM-5 encodings, ascending, on any LUN', async () => {
  const u0 = makeUnit(memoryDevice(), { name: 'a' });
  const u1 = makeUnit(memoryDevice(), { name: 'b' });
  const view = makeView([
    { lun: 300, unit: u1, writeProtect: false },
    { lun: 2, unit: u0, writeProtect: false },
  ]);
  const n = openNexus(makeNexus('a'), view, { units: () => [u0, u1] });
  // LUN 0 is not mapped: REPORT LUNS still works there.
  const r = await run(n, [0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], { edtl: 256 });
  assert.equal(r.status, 0);
  const d = r.data!;
  assert.equal(d.readUInt32BE(0), 16);
  assert.deepEqual([...d.subarray(8, 16)], [0, 2, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...d.subarray(16, 24)], [0x41, 0x2c, 0, 0, 0, 0, 0, 0]);
  // Truncation keeps the full LUN LIST LENGTH.
  const t = await run(n, [0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0], { edtl: 16 });
  assert.equal(t.data!.length, 16);
  assert.equal(t.data!.readUInt32BE(0), 16);
  // Allocation length < 16, unknown SELECT REPORT.
  assert.equal(sense(await run(n, [0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 0, 0])).asc, 0x24);
  assert.equal(sense(await run(n, [0xa0, 0, 0x03, 0, 0, 0, 0, 0, 1, 0, 0, 0])).asc, 0x24);
  // SELECT REPORT 01h: well-known LUs only -> empty.
  const wk = await run(n, [0xa0, 0, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
  assert.equal(wk.data!.readUInt32BE(0), 0);
});

test('REQUEST SENSE returns and clears the pending unit attention, honouring DESC', async () => {
  const f = fixture();
  const n = f.open('a');
  capacityChanged(f.unit);
  const r = await run(n, [0x03, 0, 0, 0, 252, 0], { edtl: 252 });
  assert.equal(r.status, 0);
  assert.deepEqual([r.data![0], r.data![2], r.data![12], r.data![13]], [0x70, 6, 0x2a, 0x09]);
  const r2 = await run(n, [0x03, 1, 0, 0, 252, 0], { edtl: 252 });
  assert.deepEqual([r2.data![0], r2.data![1], r2.data![2]], [0x72, 0, 0]);
  assert.equal((await run(n, [0, 0, 0, 0, 0, 0])).status, 0);
  // On an unmapped LUN: LOGICAL UNIT NOT SUPPORTED as parameter data.
  const r3 = await run(n, [0x03, 0, 0, 0, 18, 0], { lun: 9, edtl: 18 });
  assert.equal(r3.status, 0);
  assert.deepEqual([r3.data![2], r3.data![12]], [5, 0x25]);
});

test('unit attentions: none for a new nexus, I_T nexus loss on reconnect of the same port', async () => {
  const f = fixture();
  const a = f.open('a', 'iqn.x:a,i,0x1');
  assert.equal((await run(a, [0, 0, 0, 0, 0, 0])).status, 0);
  a.close();
  // Another port of the same initiator (new ISID) is a new I_T nexus: no UA.
  const b = f.open('b', 'iqn.x:a,i,0x2');
  assert.equal((await run(b, [0, 0, 0, 0, 0, 0])).status, 0);
  const a2 = f.open('a2', 'iqn.x:a,i,0x1');
  const tur = await run(a2, [0, 0, 0, 0, 0, 0]);
  assert.deepEqual([sense(tur).asc, sense(tur).ascq], [0x29, 0x07]);
  assert.equal((await run(a2, [0, 0, 0, 0, 0, 0])).status, 0);
});

test('REPORTED LUNS DATA HAS CHANGED and CAPACITY DATA HAS CHANGED', async () => {
  const f = fixture();
  const a = f.open('a');
  const b = f.open('b');
  await clearUnitAttentions(a);
  await clearUnitAttentions(b);
  lunInventoryChanged(f.unit, ['a']);
  assert.equal((await run(b, [0, 0, 0, 0, 0, 0])).status, 0);
  const r = await run(a, [0, 0, 0, 0, 0, 0]);
  assert.deepEqual([sense(r).key, sense(r).asc, sense(r).ascq], [6, 0x3f, 0x0e]);
  // REPORT LUNS clears it without being blocked.
  lunInventoryChanged(f.unit);
  assert.equal((await run(a, [0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0])).status, 0);
  assert.equal((await run(a, [0, 0, 0, 0, 0, 0])).status, 0);
  assert.equal(sense(await run(b, [0, 0, 0, 0, 0, 0])).asc, 0x3f);
  capacityChanged(f.unit);
  const c = await run(b, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([sense(c).asc, sense(c).ascq], [0x2a, 0x09]);
  assert.equal((await run(b, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0])).status, 0);
});

test('unknown opcode is INVALID COMMAND OPERATION CODE (after a pending UA)', async () => {
  const f = fixture();
  const n = f.open('a');
  capacityChanged(f.unit);
  assert.equal(sense(await run(n, [0xff, 0, 0, 0, 0, 0])).asc, 0x2a);
  const r = await run(n, [0xff, 0, 0, 0, 0, 0]);
  assert.deepEqual([sense(r).key, sense(r).asc], [5, 0x20]);
});

test('write protection: mapping WP, storage object readonly, device readOnly', async () => {
  for (const opts of [{ writeProtect: true }, { readOnly: true }]) {
    const f = fixture(opts);
    const n = f.open('a');
    await clearUnitAttentions(n);
    const w = await run(n, [0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0], { data: Buffer.alloc(512) });
    assert.deepEqual([sense(w).key, sense(w).asc], [7, 0x27]);
    assert.equal((await run(n, [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], { edtl: 512 })).status, 0);
    // MODE SENSE reports WP.
    const ms = await run(n, [0x1a, 0, 0x3f, 0, 255, 0], { edtl: 255 });
    assert.equal(ms.data![2] & 0x80, 0x80);
  }
});
