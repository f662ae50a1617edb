import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, clearUnitAttentions, run, sense, cdb16 } from './harness.js';
import type { MemoryDeviceOptions } from './memory-device.js';

async function ready(opts: MemoryDeviceOptions = {}) {
  const f = fixture(opts);
  const n = f.open('a');
  await clearUnitAttentions(n);
  return { f, n };
}

function prefetch10(lba: number, blocks: number, flags = 0, group = 0): number[] {
  return [0x34, flags, (lba >>> 24) & 0xff, (lba >>> 16) & 0xff, (lba >>> 8) & 0xff, lba & 0xff, group, (blocks >> 8) & 0xff, blocks & 0xff, 0];
}

const rsocOne = (opcode: number) => [0xa3, 0x0c, 0x01, opcode, 0, 0, 0, 0, 0xff, 0xff, 0, 0];

test('PRE-FETCH(10)/(16): GOOD for ranges on the medium (IMMED, GROUP, length 0 = to the end), no I/O', async () => {
  const { f, n } = await ready({ blockCount: 300 });
  const before = f.dev.log.length;
  for (const cdb of [prefetch10(0, 256), prefetch10(44, 256), prefetch10(0, 1, 0x02, 3), prefetch10(0, 0), prefetch10(299, 0), cdb16(0x90, 299n, 1), cdb16(0x90, 0n, 0, 0x02)]) {
    const r = await run(n, cdb, { edtl: 0, direction: 'none' });
    assert.equal(r.status, 0, Buffer.from(cdb).toString('hex'));
    assert.equal(r.data, undefined);
  }
  assert.equal(f.dev.log.length, before);
});

test('PRE-FETCH beyond the end of the medium: LBA OUT OF RANGE', async () => {
  const { n } = await ready({ blockCount: 300 });
  const cases = [prefetch10(300, 1), prefetch10(299, 2), prefetch10(301, 0), prefetch10(300, 0), prefetch10(0x80000000, 0), prefetch10(0xffffffff, 1), cdb16(0x90, 1n << 63n, 0), cdb16(0x90, (1n << 64n) - 1n, 5), cdb16(0x90, 45n, 256)];
  for (const cdb of cases) {
    const s = sense(await run(n, cdb, { edtl: 0, direction: 'none' }));
    assert.deepEqual([s.key, s.asc, s.ascq], [0x05, 0x21, 0x00], Buffer.from(cdb).toString('hex'));
  }
});

test('READ DEFECT DATA(10): empty list header echoing PLISTV/GLISTV and the format; allocation length truncates', async () => {
  const { n } = await ready();
  const r = await run(n, [0x37, 0, 0x18 | 0x05, 0, 0, 0, 0, 0, 32, 0], { edtl: 32 });
  assert.equal(r.status, 0);
  assert.deepEqual([...r.data!], [0x00, 0x1d, 0x00, 0x00]);
  const plain = await run(n, [0x37, 0, 0, 0, 0, 0, 0, 0, 32, 0], { edtl: 32 });
  assert.deepEqual([...plain.data!], [0, 0, 0, 0]);
  const short = await run(n, [0x37, 0, 0x08, 0, 0, 0, 0, 0, 2, 0], { edtl: 2 });
  assert.deepEqual([...short.data!], [0x00, 0x08]);
  const none = await run(n, [0x37, 0, 0, 0, 0, 0, 0, 0, 0, 0], { edtl: 0 });
  assert.equal(none.status, 0);
  assert.equal(none.data!.length, 0);
  const reserved = sense(await run(n, [0x37, 0, 0x07, 0, 0, 0, 0, 0, 32, 0], { edtl: 32 }));
  assert.deepEqual([reserved.key, reserved.asc, reserved.sks?.readUInt16BE(1)], [0x05, 0x24, 2]);
});

test('READ DEFECT DATA(12): 8-byte header, flags in byte 1, 32-bit allocation length', async () => {
  const { n } = await ready();
  const r = await run(n, [0xb7, 0x13, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], { edtl: 32 });
  assert.equal(r.status, 0);
  assert.deepEqual([...r.data!], [0x00, 0x13, 0, 0, 0, 0, 0, 0]);
  const short = await run(n, [0xb7, 0x10, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0], { edtl: 5 });
  assert.equal(short.data!.length, 5);
  assert.equal(sense(await run(n, [0xb7, 0x0f, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], { edtl: 32 })).asc, 0x24);
});

test('VPD B0h: WSNZ, MAXIMUM COMPARE AND WRITE LENGTH, MAXIMUM WRITE SAME LENGTH and the atomic fields', async () => {
  const { n } = await ready({ blockSize: 4096 });
  const d = (await run(n, [0x12, 0x01, 0xb0, 0, 255, 0], { edtl: 255 })).data!;
  assert.equal(d.length, 64);
  assert.equal(d.readUInt16BE(2), 0x3c);
  assert.equal(d[4] & 0x01, 0, 'WSNZ=0: 0 blocks means to the end of the medium');
  assert.equal(d[5], 255);
  const maxTransfer = d.readUInt32BE(8);
  assert.equal(maxTransfer, (8 * 1024 * 1024) / 4096);
  assert.equal(d.readBigUInt64BE(36), BigInt((128 * 1024 * 1024) / 4096));
  assert.equal(d.readUInt32BE(44), maxTransfer, 'MAXIMUM ATOMIC TRANSFER LENGTH ≤ MAXIMUM TRANSFER LENGTH');
  assert.equal(d.readUInt32BE(48), 0);
  assert.equal(d.readUInt32BE(52), 0);
  assert.equal(d.readUInt32BE(60), 0, 'no atomic boundary');
  assert.equal(d.readUInt32BE(20), 0, 'no UNMAP');
  const b2 = (await run(n, [0x12, 0x01, 0xb2, 0, 255, 0], { edtl: 255 })).data!;
  assert.equal(b2[5] & 0xe0, 0, 'LBPU/LBPWS/LBPWS10 clear: WRITE SAME UNMAP is refused');
});

test('REPORT SUPPORTED OPERATION CODES lists the new commands with their CDB usage data', async () => {
  const { n } = await ready();
  const expected: [number, number, number][] = [
    // opcode, CDB length, usage byte 1
    [0x41, 10, 0xfe],
    [0x93, 16, 0xff],
    [0x34, 10, 0x02],
    [0x90, 16, 0x02],
    [0x8b, 16, 0xf8],
    [0x89, 16, 0xf8],
    [0x9c, 16, 0xf8],
    [0x37, 10, 0x00],
    [0xb7, 12, 0x1f],
  ];
  for (const [opcode, length, byte1] of expected) {
    const d = (await run(n, rsocOne(opcode), { edtl: 0xffff })).data!;
    assert.equal(d[1] & 0x07, 0x03, `0x${opcode.toString(16)} supported`);
    assert.equal(d.readUInt16BE(2), length);
    assert.equal(d[4], opcode);
    assert.equal(d[5], byte1, `0x${opcode.toString(16)} byte 1 usage`);
  }
  // libiscsi *_dpofua: DPOFUA=1 in MODE SENSE, so DPO/FUA must be in the usage data.
  for (const opcode of [0x8b, 0x89, 0x9c]) {
    const d = (await run(n, rsocOne(opcode), { edtl: 0xffff })).data!;
    assert.equal(d[5] & 0x18, 0x18);
  }
  const all = (await run(n, [0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0], { edtl: 4096 })).data!;
  const listed = new Set<number>();
  for (let p = 4; p + 8 <= all.length; p += 8) listed.add(all[p]);
  for (const [opcode] of expected) assert.ok(listed.has(opcode), `0x${opcode.toString(16)} in the all-commands list`);
});
