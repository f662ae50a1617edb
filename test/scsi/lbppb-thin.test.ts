// A thin LU with several logical blocks per physical block: OPTIMAL UNMAP
// GRANULARITY is a whole number of physical blocks, unaligned unmaps still
// succeed (the partial physical blocks are zeroed), and GET LBA STATUS keeps
// starting at the requested LBA (SBC-3 §5.7) — the behaviour libiscsi's
// GetLBAStatus.UnmapSingle disagrees with when LBPPB >= 2.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogicalUnit } from '../../src/scsi/logical-unit.js';
import { openNexus } from '../../src/scsi/nexus.js';
import type { ProvisioningOptions } from '../../src/scsi/api.js';
import { openRamdisk } from '../../src/backstore/ramdisk.js';
import { cdb10, clearUnitAttentions, makeNexus, makeView, run, WWN } from './harness.js';

const ALL: ProvisioningOptions = { unmap: true, writeSameUnmap: true };
const BS = 512;

async function thin(physicalBlockSize: number | undefined, provisioning: ProvisioningOptions = ALL, chunkSize = 4096) {
  const device = await openRamdisk({ size: 1 << 20, blockSize: BS, chunkSize });
  const unit = createLogicalUnit({ device, name: 'thin0', wwn: WWN, vendor: 'TSGT', product: 'thin', revision: '1', provisioning, physicalBlockSize });
  const n = openNexus(makeNexus('a'), makeView([{ lun: 0, unit, writeProtect: false }]), { units: () => [unit] });
  await clearUnitAttentions(n);
  return { unit, n, device };
}

const b0 = async (n: Parameters<typeof run>[0]) => (await run(n, [0x12, 0x01, 0xb0, 0, 64, 0], { edtl: 64 })).data!;

function getLbaStatus(lba: number, allocation = 24): Buffer {
  const b = Buffer.alloc(16);
  b[0] = 0x9e;
  b[1] = 0x12;
  b.writeBigUInt64BE(BigInt(lba), 2);
  b.writeUInt32BE(allocation, 10);
  return b;
}

function unmapList(lba: number, blocks: number): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt16BE(22, 0);
  b.writeUInt16BE(16, 2);
  b.writeBigUInt64BE(BigInt(lba), 8);
  b.writeUInt32BE(blocks, 16);
  return b;
}

const unmapCdb = (len: number) => [0x42, 0, 0, 0, 0, 0, 0, (len >> 8) & 0xff, len & 0xff, 0];

test('OPTIMAL UNMAP GRANULARITY is raised to a whole number of physical blocks', async () => {
  const cases: [number | undefined, ProvisioningOptions, number, number][] = [
    [undefined, ALL, 4096, 8], // no physical_block_size: the device's own (4 KiB chunk)
    [4096, ALL, 4096, 8], // already one physical block
    [4096, ALL, 512, 8], // a 1-block device granularity is raised to LBPPB
    [16384, ALL, 4096, 32], // device granule smaller than a physical block
    [4096, { ...ALL, unmapGranularity: 12 }, 4096, 16], // unmap_granularity rounded up to a multiple of LBPPB
    [4096, { ...ALL, unmapGranularity: 64 }, 4096, 64], // already a multiple: kept
  ];
  for (const [physical, prov, chunk, want] of cases) {
    const { n } = await thin(physical, prov, chunk);
    assert.equal((await b0(n)).readUInt32BE(28), want, `physical ${physical}, ${JSON.stringify(prov)}, chunk ${chunk}`);
  }
});

test('a fully provisioned LU keeps its unmap fields zero whatever the physical block size', async () => {
  const { n } = await thin(4096, { unmap: false, writeSameUnmap: false });
  const d = await b0(n);
  assert.deepEqual([...d.subarray(20, 36)], Array<number>(16).fill(0));
  assert.equal(d.readUInt16BE(6), 8, 'OPTIMAL TRANSFER LENGTH GRANULARITY still one physical block');
});

test('WRITE SAME (10) UNMAP of a partial physical block succeeds and the blocks read as zeros (libiscsi UnmapUnaligned)', async () => {
  const { n } = await thin(4096);
  const pattern = Buffer.alloc(8 * BS, 0xa6);
  assert.equal((await run(n, cdb10(0x2a, 0, 8), { data: pattern })).status, 0);
  for (let i = 1; i < 8; i++) {
    const r = await run(n, cdb10(0x41, i, 8 - i, 0x08), { data: Buffer.alloc(BS, 0xa6) });
    assert.equal(r.status, 0, `WRITE SAME UNMAP at LBA ${i}, ${8 - i} blocks`);
  }
  const back = (await run(n, cdb10(0x28, 0, 8), { edtl: 8 * BS })).data!;
  assert.ok(back.subarray(0, BS).every((x) => x === 0xa6), 'LBA 0 was never unmapped');
  assert.ok(back.subarray(BS).every((x) => x === 0), 'LBAs 1-7 read as zeros');
});

test('WRITE SAME (10) UNMAP with one block of Data-Out too little or too much fails (libiscsi InvalidDataOutSize)', async () => {
  const { n } = await thin(4096);
  for (const size of [BS / 2, BS * 2]) {
    const r = await run(n, cdb10(0x41, 0, 1, 0x08), { data: Buffer.alloc(size, 0xa6), edtl: size });
    assert.equal(r.status, 0x02, `Data-Out of ${size} bytes`);
  }
});

test('GET LBA STATUS starts at the requested LBA, inside a physical block too (SBC-3 §5.7)', async () => {
  const { n } = await thin(4096);
  assert.equal((await run(n, cdb10(0x2a, 0, 264), { data: Buffer.alloc(264 * BS, 0x41) })).status, 0);
  const list = unmapList(0, 8);
  assert.equal((await run(n, unmapCdb(list.length), { data: list })).status, 0);
  // libiscsi GetLBAStatus.UnmapSingle asks at LBA 9 and wants 16 (i + lbppb) in the first descriptor.
  const d = (await run(n, getLbaStatus(9), { edtl: 24 })).data!;
  assert.equal(d.readBigUInt64BE(8), 9n, 'first descriptor starts at STARTING LOGICAL BLOCK ADDRESS');
  assert.equal(d[8 + 12] & 0x0f, 0, 'mapped');
  const at0 = (await run(n, getLbaStatus(0), { edtl: 24 })).data!;
  assert.deepEqual([at0.readBigUInt64BE(8), at0.readUInt32BE(16), at0[20] & 0x0f], [0n, 8, 1], 'LBAs 0-7 deallocated');
});

test('UNMAP of a partial physical block zeroes it and GET LBA STATUS still reports it mapped', async () => {
  const { n } = await thin(4096);
  assert.equal((await run(n, cdb10(0x2a, 0, 16), { data: Buffer.alloc(16 * BS, 0x5a) })).status, 0);
  const list = unmapList(2, 4);
  assert.equal((await run(n, unmapCdb(list.length), { data: list })).status, 0);
  const d = (await run(n, getLbaStatus(0), { edtl: 24 })).data!;
  assert.deepEqual([d.readBigUInt64BE(8), d[20] & 0x0f], [0n, 0], 'the physical block holding LBAs 2-5 is still mapped');
  const back = (await run(n, cdb10(0x28, 0, 8), { edtl: 8 * BS })).data!;
  assert.ok(back.subarray(2 * BS, 6 * BS).every((x) => x === 0), 'LBAs 2-5 read as zeros');
  assert.ok(back.subarray(0, 2 * BS).every((x) => x === 0x5a) && back.subarray(6 * BS).every((x) => x === 0x5a), 'the rest is kept');
});
