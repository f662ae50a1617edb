import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, clearUnitAttentions, run, sense } from './harness.js';
import { capacityChanged } from '../../src/scsi/nexus.js';

const inquiry = (evpd: number, page: number, alloc: number) => [0x12, evpd, page, alloc >> 8, alloc & 0xff, 0];

test('standard INQUIRY data', async () => {
  const f = fixture();
  const n = f.open('a');
  const r = await run(n, inquiry(0, 0, 255), { edtl: 255 });
  assert.equal(r.status, 0);
  const d = r.data!;
  assert.equal(d.length, 66);
  assert.equal(r.transferLength, 66);
  assert.equal(d[0], 0x00);
  assert.equal(d[2], 0x06);
  assert.equal(d[3], 0x12);
  assert.equal(d[4], d.length - 5);
  assert.equal(d[5] & 0x30, 0x10);
  assert.equal(d[7] & 0x02, 0x02);
  assert.equal(d.subarray(8, 16).toString('ascii'), 'TSGT    ');
  assert.equal(d.subarray(16, 32).toString('ascii'), 'memdisk         ');
  assert.equal(d.subarray(32, 36).toString('ascii'), '0.1 ');
  assert.deepEqual([d.readUInt16BE(58), d.readUInt16BE(60), d.readUInt16BE(62), d.readUInt16BE(64)], [0x00a0, 0x0960, 0x0460, 0x04c0]);
});

test('INQUIRY is not blocked by a pending unit attention', async () => {
  const f = fixture();
  const n = f.open('a');
  capacityChanged(f.unit);
  assert.equal((await run(n, inquiry(0, 0, 36), { edtl: 36 })).status, 0);
  // The UA is still pending for other commands.
  const tur = await run(n, [0, 0, 0, 0, 0, 0]);
  assert.equal(tur.status, 2);
  assert.deepEqual([sense(tur).key, sense(tur).asc, sense(tur).ascq], [6, 0x2a, 0x09]);
});

test('allocation length truncates; 16-bit allocation length honoured', async () => {
  const f = fixture();
  const n = f.open('a');
  for (const alloc of [0, 5, 36, 511, 512]) {
    const r = await run(n, inquiry(0, 0, alloc), { edtl: alloc });
    assert.equal(r.data?.length ?? 0, Math.min(alloc, 66));
    assert.equal(r.transferLength, Math.min(alloc, 66));
  }
});

test('EVPD=0 with a page code is INVALID FIELD IN CDB with a field pointer to byte 2', async () => {
  const f = fixture();
  const n = f.open('a');
  const r = await run(n, inquiry(0, 1, 256));
  assert.equal(r.status, 2);
  const s = sense(r);
  assert.deepEqual([s.key, s.asc], [5, 0x24]);
  assert.equal(s.sks?.[0]! & 0xc0, 0xc0);
  assert.equal(s.sks?.readUInt16BE(1), 2);
});

test('supported VPD pages are ascending and each can be read', async () => {
  const f = fixture();
  const n = f.open('a');
  const r = await run(n, inquiry(1, 0, 255));
  const d = r.data!;
  assert.equal(d[1], 0x00);
  const pages = [...d.subarray(4, 4 + d.readUInt16BE(2))];
  assert.deepEqual(pages, [0x00, 0x80, 0x83, 0x86, 0x8f, 0xb0, 0xb1, 0xb2]);
  for (const p of pages) {
    const pr = await run(n, inquiry(1, p, 255));
    assert.equal(pr.status, 0, `page ${p}`);
    assert.equal(pr.data![1], p);
    assert.equal(pr.data!.readUInt16BE(2), pr.data!.length - 4);
  }
  const bad = await run(n, inquiry(1, 0xc7, 255));
  assert.equal(sense(bad).asc, 0x24);
});

test('VPD 80h serial is the wwn without dashes; VPD 83h has NAA 6 + T10 + port designators', async () => {
  const f = fixture();
  const n = f.open('a');
  const s = (await run(n, inquiry(1, 0x80, 255))).data!;
  assert.equal(s.subarray(4).toString('ascii'), '6a1c3b2e9f414d3c8e5a0b9d7c6e5f41');
  const d = (await run(n, inquiry(1, 0x83, 1024), { edtl: 1024 })).data!;
  const found: { type: number; assoc: number; value: Buffer }[] = [];
  for (let p = 4; p < d.length; p += 4 + d[p + 3]) found.push({ type: d[p + 1] & 0x0f, assoc: (d[p + 1] >> 4) & 3, value: d.subarray(p + 4, p + 4 + d[p + 3]) });
  const naa = found.find((x) => x.type === 3)!;
  assert.equal(naa.value.length, 16);
  assert.equal(naa.value[0] >> 4, 6);
  assert.equal(naa.value.toString('hex').slice(1, 7), '001405');
  assert.equal(naa.value.toString('hex').slice(7, 15), '6a1c3b2e');
  const t10 = found.find((x) => x.type === 1)!;
  assert.equal(t10.value.toString('ascii'), 'TSGT    6a1c3b2e9f414d3c8e5a0b9d7c6e5f41');
  assert.equal(found.find((x) => x.type === 4)!.value.readUInt16BE(2), 1);
  assert.equal(found.find((x) => x.type === 5)!.value.readUInt16BE(2), 1);
  const name = found.find((x) => x.type === 8 && x.assoc === 1)!;
  assert.equal(name.value.length % 4, 0);
  assert.equal(name.value.toString('utf8').replace(/\0+$/, ''), 'iqn.2024-01.test:target,t,0x0001');
});

test('VPD B0h advertises the maximum transfer length in blocks', async () => {
  const f = fixture({ blockSize: 4096 });
  const n = f.open('a');
  const d = (await run(n, inquiry(1, 0xb0, 255))).data!;
  assert.equal(d.length, 64);
  assert.equal(d[3], 0x3c);
  assert.equal(d.readUInt32BE(8), (8 * 1024 * 1024) / 4096);
  assert.equal(d.readUInt32BE(20), 0); // MAXIMUM UNMAP LBA COUNT
  await clearUnitAttentions(n);
});

test('INQUIRY on an unmapped LUN: peripheral qualifier 011b, type 1Fh', async () => {
  const f = fixture();
  const n = f.open('a');
  const r = await run(n, inquiry(0, 0, 96), { lun: 5 });
  assert.equal(r.status, 0);
  assert.equal(r.data![0], 0x7f);
  const tur = await run(n, [0, 0, 0, 0, 0, 0], { lun: 5 });
  assert.deepEqual([sense(tur).key, sense(tur).asc], [5, 0x25]);
});
