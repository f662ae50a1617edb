import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PrState, PrStore } from '../../src/scsi/api.js';
import { createLogicalUnit } from '../../src/scsi/logical-unit.js';
import { openNexus } from '../../src/scsi/nexus.js';
import { fixture, makeNexus, makeView, run, sense, WWN } from './harness.js';
import { memoryDevice } from './memory-device.js';

function prin(sa: number, alloc = 8192): number[] {
  return [0x5e, sa, 0, 0, 0, 0, 0, alloc >> 8, alloc & 0xff, 0];
}

function prout(sa: number, o: { type?: number; key?: bigint; sark?: bigint; flags?: number } = {}): { cdb: number[]; data: Buffer } {
  const data = Buffer.alloc(24);
  data.writeBigUInt64BE(o.key ?? 0n, 0);
  data.writeBigUInt64BE(o.sark ?? 0n, 8);
  data[20] = o.flags ?? 0;
  return { cdb: [0x5f, sa, o.type ?? 0, 0, 0, 0, 0, 0, 24, 0], data };
}

async function out(n: Parameters<typeof run>[0], sa: number, o: Parameters<typeof prout>[1] = {}) {
  const { cdb, data } = prout(sa, o);
  return run(n, cdb, { data });
}

test('READ KEYS: empty, then one key per registration; ADDITIONAL LENGTH survives truncation', async () => {
  const f = fixture();
  const a = f.open('a');
  const b = f.open('b');
  let r = await run(a, prin(0));
  assert.equal(r.status, 0);
  assert.deepEqual([r.data!.readUInt32BE(0), r.data!.readUInt32BE(4), r.data!.length], [0, 0, 8]);
  assert.equal((await out(a, 0, { sark: 0xaan })).status, 0);
  assert.equal((await out(b, 6, { sark: 0xbbn })).status, 0);
  r = await run(a, prin(0));
  assert.equal(r.data!.readUInt32BE(0), 2); // PRGENERATION
  assert.equal(r.data!.readUInt32BE(4), 16);
  assert.deepEqual([r.data!.readBigUInt64BE(8), r.data!.readBigUInt64BE(16)], [0xaan, 0xbbn]);
  // libiscsi test_prin_read_keys_truncate: allocation length 8.
  const t = await run(a, prin(0, 8), { edtl: 8 });
  assert.equal(t.status, 0);
  assert.equal(t.data!.length, 8);
  assert.equal(t.transferLength, 8);
  assert.equal(t.data!.readUInt32BE(4), 16);
});

test('READ RESERVATION: none, then key/scope/type; key 0 for all-registrants types', async () => {
  const f = fixture();
  const a = f.open('a');
  let r = await run(a, prin(1));
  assert.deepEqual([r.data!.readUInt32BE(4), r.data!.length], [0, 8]);
  await out(a, 0, { sark: 0x1234n });
  assert.equal((await out(a, 1, { key: 0x1234n, type: 3 })).status, 0);
  r = await run(a, prin(1));
  assert.equal(r.data!.readUInt32BE(4), 16);
  assert.equal(r.data!.readBigUInt64BE(8), 0x1234n);
  assert.equal(r.data![21], 0x03);
  assert.equal((await out(a, 2, { key: 0x1234n, type: 3 })).status, 0);
  assert.equal((await out(a, 1, { key: 0x1234n, type: 8 })).status, 0);
  r = await run(a, prin(1));
  assert.equal(r.data!.readBigUInt64BE(8), 0n);
  assert.equal(r.data![21], 0x08);
});

test('REPORT CAPABILITIES: length 8, CRH/SIP_C/ATP_C, TMV with every type, ALLOW COMMANDS 011b, PTPL_C follows the store', async () => {
  const f = fixture();
  const a = f.open('a');
  const r = await run(a, prin(2));
  assert.equal(r.status, 0);
  const d = r.data!;
  assert.equal(d.length, 8);
  assert.equal(d.readUInt16BE(0), 8);
  assert.equal(d[2], 0x1c); // CRH, SIP_C, ATP_C, no PTPL_C without a store
  assert.equal(d[3], 0x80 | 0x30);
  assert.equal(d.readUInt16BE(4), 0xea01);

  const saved: PrState[] = [];
  const store: PrStore = { load: () => undefined, save: async (s) => void saved.push(s) };
  const unit = createLogicalUnit({ device: memoryDevice(), name: 'd', wwn: WWN, vendor: 'V', product: 'P', revision: '1', prStore: store });
  const view = makeView([{ lun: 0, unit, writeProtect: false }]);
  const n = openNexus(makeNexus('x'), view, { units: () => [unit] });
  assert.equal((await run(n, prin(2))).data![2] & 0x01, 0x01);
  assert.equal((await out(n, 0, { sark: 5n, flags: 0x01 })).status, 0);
  assert.equal((await run(n, prin(2))).data![3] & 0x01, 0x01); // PTPL_A
});

test('READ FULL STATUS: key, R_HOLDER, scope/type, relative port, iSCSI TransportID (format 01b); ALL_TG_PT', async () => {
  const f = fixture();
  const a = f.open('a', 'iqn.2024-01.test:a,i,0x23d000000001');
  const b = f.open('b', 'iqn.2024-01.test:b,i,0x23d000000002');
  await out(a, 0, { sark: 0xa1n });
  await out(b, 0, { sark: 0xb2n, flags: 0x04 });
  await out(a, 1, { key: 0xa1n, type: 1 });
  const r = await run(b, prin(3));
  assert.equal(r.status, 0);
  const d = r.data!;
  const total = d.readUInt32BE(4);
  assert.equal(d.length, 8 + total);
  const descriptors: { key: bigint; flags: number; scopeType: number; rtpi: number; tid: Buffer }[] = [];
  for (let p = 8; p < d.length; ) {
    const len = d.readUInt32BE(p + 20);
    descriptors.push({ key: d.readBigUInt64BE(p), flags: d[p + 12], scopeType: d[p + 13], rtpi: d.readUInt16BE(p + 18), tid: d.subarray(p + 24, p + 24 + len) });
    p += 24 + len;
  }
  assert.equal(descriptors.length, 2);
  const [da, db] = descriptors;
  assert.deepEqual([da.key, da.flags, da.scopeType, da.rtpi], [0xa1n, 0x01, 0x01, 1]);
  assert.deepEqual([db.key, db.flags, db.scopeType, db.rtpi], [0xb2n, 0x02, 0x00, 0]);
  assert.equal(da.tid[0], 0x45); // FORMAT CODE 01b, PROTOCOL IDENTIFIER 5 (iSCSI)
  assert.equal(da.tid.readUInt16BE(2) % 4, 0);
  assert.equal(da.tid.readUInt16BE(2) + 4, da.tid.length);
  const name = da.tid.subarray(4).toString('utf8').replace(/\0+$/, '');
  assert.equal(name, 'iqn.2024-01.test:a,i,0x23d000000001');
  // Truncated to the allocation length.
  const t = await run(b, prin(3, 10), { edtl: 10 });
  assert.equal(t.data!.length, 10);
  assert.equal(t.data!.readUInt32BE(4), total);
});

test('invalid service actions 04h..1Fh: INVALID FIELD IN CDB pointing at byte 1 bit 4', async () => {
  const f = fixture();
  const a = f.open('a');
  for (let sa = 4; sa < 0x20; sa++) {
    const r = await run(a, prin(sa));
    assert.equal(r.status, 2);
    const s = sense(r);
    assert.deepEqual([s.key, s.asc, s.ascq], [5, 0x24, 0]);
    assert.deepEqual([...s.sks!], [0xc0 | 0x08 | 4, 0, 1]);
  }
  const r = await run(a, [0x5f, 0x08, 0, 0, 0, 0, 0, 0, 24, 0], { data: Buffer.alloc(24) });
  assert.deepEqual([sense(r).key, sense(r).asc], [5, 0x24]);
});
