// UNMAP, GET LBA STATUS and WRITE SAME with UNMAP on a thin LU (a ramdisk with
// 4 KiB chunks: 8 blocks per allocation unit) and on fully provisioned ones.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createLogicalUnit } from '../../src/scsi/logical-unit.js';
import { openNexus } from '../../src/scsi/nexus.js';
import type { ProvisioningOptions, ScsiNexusHandle } from '../../src/scsi/api.js';
import type { BlockDevice, BlockRange } from '../../src/backstore/types.js';
import { openRamdisk, type RamdiskDevice } from '../../src/backstore/ramdisk.js';
import { isSenseFailure, SenseReason } from '../../src/scsi/sense.js';
import { parseUnmapParameters } from '../../src/scsi/sbc/unmap.js';
import { descriptorBudget, encodeLbaStatus, lbaExtents, MAX_LBA_STATUS_DESCRIPTORS } from '../../src/scsi/sbc/get-lba-status.js';
import { cdb16, clearUnitAttentions, makeNexus, makeView, run, sense, WWN } from './harness.js';
import { memoryDevice } from './memory-device.js';

const ALL: ProvisioningOptions = { unmap: true, writeSameUnmap: true };
const BLOCKS = 2048;

async function lu(device: BlockDevice, provisioning?: ProvisioningOptions, writeProtect = false) {
  const unit = createLogicalUnit({ device, name: 'thin0', wwn: WWN, vendor: 'TSGT', product: 'thin', revision: '1', provisioning });
  const view = makeView([{ lun: 0, unit, writeProtect }]);
  const n = openNexus(makeNexus('a'), view, { units: () => [unit] });
  await clearUnitAttentions(n);
  return n;
}

async function thin(provisioning: ProvisioningOptions = ALL): Promise<{ dev: RamdiskDevice; n: ScsiNexusHandle }> {
  const dev = await openRamdisk({ size: BLOCKS * 512, blockSize: 512, chunkSize: 4096 });
  return { dev, n: await lu(dev, provisioning) };
}

function unmapCdb(length: number, anchor = false): number[] {
  return [0x42, anchor ? 1 : 0, 0, 0, 0, 0, 0, (length >> 8) & 0xff, length & 0xff, 0];
}

function unmapList(ranges: readonly { lba: bigint | number; blocks: number }[], bdl?: number): Buffer {
  const b = Buffer.alloc(8 + 16 * ranges.length);
  b.writeUInt16BE(b.length - 2, 0);
  b.writeUInt16BE(bdl ?? 16 * ranges.length, 2);
  ranges.forEach((r, i) => {
    b.writeBigUInt64BE(BigInt(r.lba), 8 + 16 * i);
    b.writeUInt32BE(r.blocks, 16 + 16 * i);
  });
  return b;
}

async function unmap(n: ScsiNexusHandle, ranges: readonly { lba: bigint | number; blocks: number }[]) {
  const list = unmapList(ranges);
  return run(n, unmapCdb(list.length), { data: list });
}

function glsCdb(lba: bigint | number, alloc: number): Buffer {
  const b = cdb16(0x9e, BigInt(lba), alloc, 0x12);
  return b;
}

interface Descriptor {
  lba: number;
  blocks: number;
  status: number;
}

async function gls(n: ScsiNexusHandle, lba: bigint | number, alloc = 24): Promise<{ length: number; d: Descriptor[] }> {
  const r = await run(n, glsCdb(lba, alloc), { edtl: alloc });
  assert.equal(r.status, 0, `GET LBA STATUS at ${lba}`);
  const data = r.data!;
  const d: Descriptor[] = [];
  for (let at = 8; at + 16 <= data.length; at += 16) d.push({ lba: Number(data.readBigUInt64BE(at)), blocks: data.readUInt32BE(at + 8), status: data[at + 12] & 0x0f });
  return { length: data.readUInt32BE(0), d };
}

const asc = (r: Awaited<ReturnType<typeof run>>) => {
  const s = sense(r);
  return [s.key, s.asc, s.ascq];
};

test('UNMAP deallocates: the blocks read as zeros and GET LBA STATUS reports them deallocated', async () => {
  const { dev, n } = await thin();
  assert.equal((await run(n, [0x2a, 0, 0, 0, 0, 0, 0, 0, 64, 0], { data: Buffer.alloc(64 * 512, 0x61) })).status, 0);
  assert.equal(dev.allocatedChunks, 8);
  const r = await unmap(n, [{ lba: 8, blocks: 16 }, { lba: 40, blocks: 8 }]);
  assert.equal(r.status, 0);
  assert.equal(dev.allocatedChunks, 5);
  assert.ok((await dev.read(8, 16)).equals(Buffer.alloc(16 * 512)));
  assert.equal((await dev.read(24, 1))[0], 0x61);
  const { d } = await gls(n, 0, 8 + 16 * 10);
  assert.deepEqual(d.slice(0, 5), [
    { lba: 0, blocks: 8, status: 0 },
    { lba: 8, blocks: 16, status: 1 },
    { lba: 24, blocks: 16, status: 0 },
    { lba: 40, blocks: 8, status: 1 },
    { lba: 48, blocks: 16, status: 0 },
  ]);
  assert.deepEqual(d[5], { lba: 64, blocks: BLOCKS - 64, status: 1 });
  assert.equal(d.length, 6);
});

test('UNMAP parameter list edge cases (libiscsi Unmap.ZeroBlocks): zero blocks anywhere up to the capacity, no descriptors, length 0', async () => {
  const { n } = await thin();
  for (let lba = 0; lba < 4; lba++) assert.equal((await unmap(n, [{ lba, blocks: 0 }])).status, 0);
  assert.equal((await unmap(n, [{ lba: BLOCKS, blocks: 0 }])).status, 0, 'zero blocks at LBA = capacity');
  assert.equal((await unmap(n, [])).status, 0, 'a header without descriptors');
  assert.equal((await run(n, unmapCdb(0), { edtl: 0, direction: 'none' })).status, 0, 'PARAMETER LIST LENGTH 0');
  const many = Array.from({ length: 256 }, (_, i) => ({ lba: i >> 1, blocks: 0 }));
  assert.equal((await unmap(n, many)).status, 0, 'overlapping zero-length descriptors');
});

test('UNMAP range and limit checks: LBA OUT OF RANGE, too many descriptors / LBAs → INVALID FIELD IN PARAMETER LIST, nothing deallocated', async () => {
  const { dev, n } = await thin({ ...ALL, maxUnmapBlockDescriptorCount: 4, maxUnmapLbaCount: 100 });
  await dev.write(0, [Buffer.alloc(BLOCKS * 512, 1)]);
  const chunks = dev.allocatedChunks;
  assert.deepEqual(asc(await unmap(n, [{ lba: 0, blocks: 8 }, { lba: BLOCKS - 1, blocks: 2 }])), [5, 0x21, 0]);
  assert.deepEqual(asc(await unmap(n, [{ lba: BLOCKS + 1, blocks: 0 }])), [5, 0x21, 0]);
  assert.deepEqual(asc(await unmap(n, [{ lba: 1n << 63n, blocks: 1 }])), [5, 0x21, 0]);
  assert.deepEqual(asc(await unmap(n, [{ lba: (1n << 64n) - 1n, blocks: 1 }])), [5, 0x21, 0]);
  const five = await unmap(n, Array.from({ length: 5 }, (_, i) => ({ lba: i * 8, blocks: 8 })));
  assert.deepEqual(asc(five), [5, 0x26, 0]);
  assert.equal(sense(five).sks![0] & 0x40, 0, 'C/D=0: the error is in the parameter list');
  assert.equal(sense(five).sks!.readUInt16BE(1), 2, 'points at UNMAP BLOCK DESCRIPTOR DATA LENGTH');
  const tooMany = await unmap(n, [{ lba: 0, blocks: 64 }, { lba: 100, blocks: 37 }]);
  assert.deepEqual(asc(tooMany), [5, 0x26, 0], 'the total exceeds MAXIMUM UNMAP LBA COUNT');
  assert.equal(sense(tooMany).sks!.readUInt16BE(1), 8 + 16 + 8, 'points at the NUMBER OF LOGICAL BLOCKS that overflowed');
  assert.equal(dev.allocatedChunks, chunks, 'a refused UNMAP deallocates nothing');
  assert.equal((await unmap(n, [{ lba: 0, blocks: 64 }, { lba: 100, blocks: 36 }])).status, 0, 'exactly at the limit');
});

test('UNMAP: PARAMETER LIST LENGTH 1..7 is PARAMETER LIST LENGTH ERROR; a short descriptor is ignored; ANCHOR anchors', async () => {
  const { dev, n } = await thin();
  await dev.write(0, [Buffer.alloc(64 * 512, 1)]);
  assert.deepEqual(asc(await run(n, unmapCdb(7), { data: Buffer.alloc(7) })), [5, 0x1a, 0]);
  // 8 + 16 + 10 bytes: the second descriptor is incomplete.
  const list = Buffer.concat([unmapList([{ lba: 0, blocks: 8 }, { lba: 8, blocks: 8 }]).subarray(0, 34)]);
  list.writeUInt16BE(26, 2);
  assert.equal((await run(n, unmapCdb(list.length), { data: list })).status, 0);
  assert.deepEqual(await dev.lbaStatus(0, 16), [
    { lba: 0, blocks: 8, mapped: false },
    { lba: 8, blocks: 8, mapped: true },
  ]);
  // BLOCK DESCRIPTOR DATA LENGTH larger than what was sent: only what arrived counts.
  const short = unmapList([{ lba: 8, blocks: 8 }], 160);
  assert.equal((await run(n, unmapCdb(short.length), { data: short })).status, 0);
  assert.equal((await dev.lbaStatus(8, 8))[0].mapped, false);
  // ANCHOR=1 on a thin LU that can anchor (ANC_SUP=1): the block is kept allocated (anchor.test.ts has the details).
  const anchor = await run(n, unmapCdb(24, true), { data: unmapList([{ lba: 0, blocks: 1 }]) });
  assert.equal(anchor.status, 0);
  assert.equal((await dev.lbaStatus(0, 1))[0].mapped, true);
});

test('UNMAP on a fully provisioned LU is not supported; on a write-protected thin LU it is DATA PROTECT', async () => {
  for (const [device, options] of [
    [memoryDevice(), ALL],
    [await openRamdisk({ size: 1 << 20, blockSize: 512 }), undefined],
    [await openRamdisk({ size: 1 << 20, blockSize: 512 }), { unmap: false, writeSameUnmap: true }],
  ] as const) {
    const n = await lu(device, options);
    assert.deepEqual(asc(await unmap(n, [{ lba: 0, blocks: 1 }])), [5, 0x20, 0]);
  }
  const wp = await lu(await openRamdisk({ size: 1 << 20, blockSize: 512 }), ALL, true);
  assert.deepEqual(asc(await unmap(wp, [{ lba: 0, blocks: 1 }])), [7, 0x27, 0]);
});

test('parseUnmapParameters: property — accepted lists deallocate exactly their non-empty descriptors, within the limits', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ lba: fc.nat(3000), blocks: fc.nat(300) }), { maxLength: 12 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 3000 }),
      (ranges, maxDescriptors, maxLbaCount) => {
        const r = parseUnmapParameters(unmapList(ranges), { blockCount: BLOCKS, maxDescriptors, maxLbaCount });
        const total = ranges.reduce((s, x) => s + x.blocks, 0);
        const inRange = ranges.every((x) => x.lba + x.blocks <= BLOCKS);
        if (ranges.length > maxDescriptors) {
          assert.ok(isSenseFailure(r) && r.reason === SenseReason.InvalidFieldInParameterList);
        } else if (total <= maxLbaCount && inRange) {
          assert.deepEqual(r, ranges.filter((x) => x.blocks > 0).map((x): BlockRange => ({ lba: x.lba, blocks: x.blocks })));
        } else {
          assert.ok(isSenseFailure(r));
          assert.ok(r.reason === SenseReason.LbaOutOfRange || r.reason === SenseReason.InvalidFieldInParameterList);
          if (inRange) assert.equal(r.reason, SenseReason.InvalidFieldInParameterList);
          if (total <= maxLbaCount) assert.equal(r.reason, SenseReason.LbaOutOfRange);
        }
      },
    ),
  );
});

test('GET LBA STATUS: the first descriptor starts at the requested LBA; at the last LBA; beyond it LBA OUT OF RANGE', async () => {
  const { dev, n } = await thin();
  await dev.write(16, [Buffer.alloc(8 * 512, 1)]);
  assert.deepEqual((await gls(n, 19)).d, [{ lba: 19, blocks: 5, status: 0 }]);
  assert.deepEqual((await gls(n, 24)).d, [{ lba: 24, blocks: BLOCKS - 24, status: 1 }]);
  assert.deepEqual((await gls(n, BLOCKS - 1)).d, [{ lba: BLOCKS - 1, blocks: 1, status: 1 }]);
  for (const lba of [BigInt(BLOCKS), BigInt(BLOCKS + 1), 1n << 63n, (1n << 64n) - 1n]) {
    assert.deepEqual(asc(await run(n, glsCdb(lba, 24), { edtl: 24 })), [5, 0x21, 0], `lba ${lba}`);
  }
});

test('GET LBA STATUS: as many descriptors as the allocation length holds, PARAMETER DATA LENGTH counts them, data truncated to it', async () => {
  const { dev, n } = await thin();
  for (let lba = 0; lba < 80; lba += 16) await dev.write(lba, [Buffer.alloc(8 * 512, 1)]); // alternate 8 mapped / 8 not
  const one = await gls(n, 0, 24);
  assert.equal(one.length, 20);
  assert.equal(one.d.length, 1);
  const three = await gls(n, 0, 8 + 3 * 16 + 5);
  assert.equal(three.length, 4 + 3 * 16);
  assert.deepEqual(three.d.map((x) => x.status), [0, 1, 0]);
  const all = await gls(n, 0, 4096);
  assert.equal(all.d.length, 10, '5 mapped + 5 deallocated extents, the last to the end');
  assert.equal(all.length, 4 + 10 * 16);
  assert.deepEqual(all.d[9], { lba: 72, blocks: BLOCKS - 72, status: 1 });
  const tiny = await run(n, glsCdb(0, 4), { edtl: 4 });
  assert.equal(tiny.status, 0);
  assert.equal(tiny.data!.length, 4);
  assert.equal(tiny.data!.readUInt32BE(0), 20, 'the header still counts the one descriptor');
  const none = await run(n, glsCdb(0, 0), { edtl: 0 });
  assert.equal(none.status, 0);
  assert.equal(none.data?.length ?? 0, 0);
  assert.equal(descriptorBudget(0xffffffff), MAX_LBA_STATUS_DESCRIPTORS);
});

test('GET LBA STATUS on a fully provisioned LU: everything mapped, one descriptor to the end', async () => {
  const dev = await openRamdisk({ size: BLOCKS * 512, blockSize: 512 });
  const n = await lu(dev); // no provisioning options: holes in the ramdisk are not reported
  assert.deepEqual((await gls(n, 100, 100)).d, [{ lba: 100, blocks: BLOCKS - 100, status: 0 }]);
  const m = await lu(memoryDevice({ blockCount: 64 }), ALL);
  assert.deepEqual((await gls(m, 0)).d, [{ lba: 0, blocks: 64, status: 0 }]);
});

test('GET LBA STATUS extents longer than 2^32-1 blocks are split (EXTENT LENGTH is 32 bits); descriptor layout', async () => {
  const huge = { ...memoryDevice({ blockCount: 1 }), blockCount: 2 ** 33 } as BlockDevice;
  const max = 0xffffffff;
  assert.deepEqual(await lbaExtents(huge, false, 0, 4), [
    { lba: 0, blocks: max, mapped: true },
    { lba: max, blocks: max, mapped: true },
    { lba: 2 * max, blocks: 2, mapped: true },
  ]);
  assert.equal((await lbaExtents(huge, false, 0, 2)).length, 2, 'cut at the descriptor budget');
  const b = encodeLbaStatus([{ lba: 5, blocks: 7, mapped: false }]);
  assert.deepEqual([...b], [0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 7, 1, 0, 0, 0]);
});

test('WRITE SAME (10)/(16) with UNMAP deallocates (libiscsi WriteSame*.Unmap*)', async () => {
  const { dev, n } = await thin();
  const ws10 = (lba: number, blocks: number, flags: number) => [0x41, flags, 0, 0, (lba >> 8) & 0xff, lba & 0xff, 0, (blocks >> 8) & 0xff, blocks & 0xff, 0];
  await dev.write(0, [Buffer.alloc(256 * 512, 0xff)]);
  assert.equal((await run(n, ws10(0, 64, 0x08), { data: Buffer.alloc(512) })).status, 0);
  assert.equal(dev.allocatedChunks, 24, 'blocks 0..63 deallocated (8 chunks of 32)');
  assert.ok((await dev.read(0, 64)).equals(Buffer.alloc(64 * 512)));
  // Unaligned: whole chunks freed, the edges zeroed.
  assert.equal((await run(n, cdb16(0x93, 100n, 30, 0x08), { data: Buffer.alloc(512) })).status, 0);
  assert.ok((await dev.read(100, 30)).equals(Buffer.alloc(30 * 512)));
  assert.equal((await dev.read(99, 1))[0], 0xff);
  assert.equal((await dev.read(130, 1))[0], 0xff);
  // NDOB + UNMAP: zeros without Data-Out.
  assert.equal((await run(n, cdb16(0x93, 192n, 64, 0x09), { edtl: 0, direction: 'none' })).status, 0);
  assert.ok((await dev.read(192, 64)).equals(Buffer.alloc(64 * 512)));
  // UNMAP=1 is an unmap operation whatever the Data-Out block holds (SBC-4 ANCHOR/UNMAP table; LIO; libiscsi UnmapUntilEnd).
  await dev.write(296, [Buffer.alloc(16 * 512, 0xff)]);
  assert.equal((await run(n, ws10(296, 8, 0x08), { data: Buffer.alloc(512, 0xa6) })).status, 0);
  assert.ok((await dev.read(296, 8)).equals(Buffer.alloc(8 * 512)));
  assert.deepEqual(await dev.lbaStatus(296, 16), [
    { lba: 296, blocks: 8, mapped: false },
    { lba: 304, blocks: 8, mapped: true },
  ]);
  // One block of Data-Out is still required (WriteSame*.InvalidDataOutSize).
  assert.deepEqual(asc(await run(n, ws10(296, 8, 0x08), { data: Buffer.alloc(1024) })), [5, 0x0e, 0x03]);
  // WSNZ=0: 0 blocks means to the end of the medium.
  await dev.write(BLOCKS - 16, [Buffer.alloc(16 * 512, 1)]);
  assert.equal((await run(n, ws10(BLOCKS - 16, 0, 0x08), { data: Buffer.alloc(512) })).status, 0);
  assert.deepEqual((await gls(n, BLOCKS - 16)).d, [{ lba: BLOCKS - 16, blocks: 16, status: 1 }]);
});

test('WRITE SAME: ANCHOR without UNMAP is refused (SBC-4 ANCHOR/UNMAP table); UNMAP=1 refused without LBPWS', async () => {
  const { n } = await thin();
  for (const flags of [0x10]) {
    const r = await run(n, cdb16(0x93, 0n, 1, flags), { data: Buffer.alloc(512) });
    assert.deepEqual(asc(r), [5, 0x24, 0]);
    assert.equal(sense(r).sks![0] & 0x07, 4);
  }
  const tpuOnly = await lu(await openRamdisk({ size: 1 << 20, blockSize: 512 }), { unmap: true, writeSameUnmap: false });
  for (const cdb of [[0x41, 0x08, 0, 0, 0, 0, 0, 0, 1, 0], cdb16(0x93, 0n, 1, 0x08)]) {
    const r = await run(tpuOnly, cdb, { data: Buffer.alloc(512) });
    assert.deepEqual(asc(r), [5, 0x24, 0]);
    assert.equal(sense(r).sks![0] & 0x07, 3);
  }
  // WRITE SAME without UNMAP still writes on such a LU.
  assert.equal((await run(tpuOnly, [0x41, 0, 0, 0, 0, 0, 0, 0, 1, 0], { data: Buffer.alloc(512, 1) })).status, 0);
});
