// Anchored LBAs on thin LUs (ANC_SUP=1): VPD B2h, UNMAP with ANCHOR=1 and
// WRITE SAME (10)/(16) per SBC-4's "ANCHOR bit, UNMAP bit, and ANC_SUP bit
// relationships" table. The thin LU is a ramdisk with 4 KiB chunks (8 blocks
// per allocation unit), whose chunk map GET LBA STATUS reports.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogicalUnit } from '../../src/scsi/logical-unit.js';
import { openNexus } from '../../src/scsi/nexus.js';
import type { ProvisioningOptions, ScsiNexusHandle, ScsiResult } from '../../src/scsi/api.js';
import type { BlockDevice } from '../../src/backstore/types.js';
import { openRamdisk, type RamdiskDevice } from '../../src/backstore/ramdisk.js';
import { isSenseFailure } from '../../src/scsi/sense.js';
import { parseUnmapCdb } from '../../src/scsi/sbc/unmap.js';
import { parseWriteSame } from '../../src/scsi/sbc/write-same.js';
import { cdb10, cdb16, clearUnitAttentions, makeNexus, makeView, run, sense, WWN } from './harness.js';
import { memoryDevice } from './memory-device.js';

const ALL: ProvisioningOptions = { unmap: true, writeSameUnmap: true };
const BLOCKS = 2048;
const BS = 512;
const WS10 = 0x41;
const WS16 = 0x93;
const ANCHOR_UNMAP = 0x18;
const MAPPED = 0;
const DEALLOCATED = 1;

interface Lu {
  n: ScsiNexusHandle;
  open(id: string): Promise<ScsiNexusHandle>;
}

async function lu(device: BlockDevice, provisioning?: ProvisioningOptions, writeProtect = false): Promise<Lu> {
  const unit = createLogicalUnit({ device, name: 'thin0', wwn: WWN, vendor: 'TSGT', product: 'thin', revision: '1', provisioning });
  const view = makeView([{ lun: 0, unit, writeProtect }]);
  const open = async (id: string) => {
    const n = openNexus(makeNexus(id), view, { units: () => [unit] });
    await clearUnitAttentions(n);
    return n;
  };
  return { n: await open('a'), open };
}

const ramdisk = (): Promise<RamdiskDevice> => openRamdisk({ size: BLOCKS * BS, blockSize: BS, chunkSize: 4096 });

async function thin(provisioning: ProvisioningOptions = ALL): Promise<{ dev: RamdiskDevice; n: ScsiNexusHandle; lu: Lu }> {
  const dev = await ramdisk();
  const l = await lu(dev, provisioning);
  return { dev, n: l.n, lu: l };
}

/** A thin-capable device that cannot anchor (a ramdisk without the method). */
function withoutAnchor(dev: RamdiskDevice): BlockDevice {
  const { anchor: _omitted, ...rest } = dev;
  return rest;
}

function unmapCdb(length: number, anchor: boolean): number[] {
  return [0x42, anchor ? 1 : 0, 0, 0, 0, 0, 0, (length >> 8) & 0xff, length & 0xff, 0];
}

function unmapList(ranges: readonly { lba: number; blocks: number }[]): Buffer {
  const b = Buffer.alloc(8 + 16 * ranges.length);
  b.writeUInt16BE(b.length - 2, 0);
  b.writeUInt16BE(16 * ranges.length, 2);
  ranges.forEach((r, i) => {
    b.writeBigUInt64BE(BigInt(r.lba), 8 + 16 * i);
    b.writeUInt32BE(r.blocks, 16 + 16 * i);
  });
  return b;
}

function anchorUnmap(n: ScsiNexusHandle, ranges: readonly { lba: number; blocks: number }[], anchor = true): Promise<ScsiResult> {
  const list = unmapList(ranges);
  return run(n, unmapCdb(list.length, anchor), { data: list });
}

async function read(n: ScsiNexusHandle, lba: number, blocks: number): Promise<Buffer> {
  const r = await run(n, cdb16(0x88, BigInt(lba), blocks), { edtl: blocks * BS });
  assert.equal(r.status, 0, `READ(16) at ${lba}`);
  return r.data!;
}

async function write(n: ScsiNexusHandle, lba: number, data: Buffer): Promise<void> {
  const r = await run(n, cdb16(0x8a, BigInt(lba), data.length / BS), { data });
  assert.equal(r.status, 0, `WRITE(16) at ${lba}`);
}

/** PROVISIONING STATUS of every block of [lba, lba+blocks), from GET LBA STATUS (asking again past each answer). */
async function provisioning(n: ScsiNexusHandle, lba: number, blocks: number): Promise<number[]> {
  const out: number[] = [];
  for (let at = lba; at < lba + blocks; ) {
    const r = await run(n, cdb16(0x9e, BigInt(at), 1024, 0x12), { edtl: 1024 });
    assert.equal(r.status, 0, `GET LBA STATUS at ${at}`);
    const d = r.data!;
    assert.ok(d.length >= 24);
    for (let p = 8; p + 16 <= d.length && at < lba + blocks; p += 16) {
      assert.equal(Number(d.readBigUInt64BE(p)), at, 'descriptors are contiguous');
      const len = d.readUInt32BE(p + 8);
      for (let i = 0; i < len && at < lba + blocks; i++, at++) out.push(d[p + 12] & 0x0f);
    }
  }
  return out;
}

const every = (n: number, v: number) => new Array<number>(n).fill(v);

function asc(r: ScsiResult): number[] {
  const s = sense(r);
  return [s.key, s.asc, s.ascq];
}

/** INVALID FIELD IN CDB pointing at byte 1, `bit`. */
function assertInvalidCdbBit(r: ScsiResult, bit: number, what: string): void {
  assert.deepEqual(asc(r), [5, 0x24, 0], what);
  const sks = sense(r).sks!;
  assert.equal(sks[0] & 0xc8, 0xc8, `${what}: SKSV, C/D and BPV`);
  assert.equal(sks[0] & 0x07, bit, `${what}: bit pointer`);
  assert.equal(sks.readUInt16BE(1), 1, `${what}: field pointer`);
}

async function b2(n: ScsiNexusHandle): Promise<Buffer> {
  const r = await run(n, [0x12, 0x01, 0xb2, 0, 64, 0], { edtl: 64 });
  assert.equal(r.status, 0);
  return r.data!;
}

// ---- VPD B2h ----------------------------------------------------------------

test('VPD B2h: ANC_SUP=1 on a thin LU whose device anchors; 0 when fully provisioned or the device cannot', async () => {
  const { n } = await thin();
  assert.equal((await b2(n))[5], 0x80 | 0x60 | 0x04 | 0x02, 'LBPU, LBPWS, LBPWS10, LBPRZ=001b, ANC_SUP');
  assert.equal((await b2((await lu(await ramdisk(), { unmap: true, writeSameUnmap: false })).n))[5] & 0x02, 0x02, 'UNMAP alone');
  for (const [device, options, what] of [
    [memoryDevice(), ALL, 'no deallocation'],
    [await ramdisk(), undefined, 'no thin provisioning configured'],
    [withoutAnchor(await ramdisk()), ALL, 'thin, device cannot anchor'],
    [await openRamdisk({ size: BLOCKS * BS, blockSize: BS, nullio: true }), ALL, 'nullio'],
  ] as const) {
    assert.equal((await b2((await lu(device, options)).n))[5] & 0x02, 0, what);
  }
});

// ---- UNMAP with ANCHOR=1 ---------------------------------------------------

test('UNMAP ANCHOR=1: the LBAs read as zeros and GET LBA STATUS never reports them deallocated', async () => {
  const { dev, n } = await thin();
  await write(n, 0, Buffer.alloc(64 * BS, 0xc3));
  assert.equal((await anchorUnmap(n, [{ lba: 8, blocks: 16 }, { lba: 40, blocks: 3 }])).status, 0);
  const back = await read(n, 0, 64);
  assert.ok(back.subarray(8 * BS, 24 * BS).equals(Buffer.alloc(16 * BS)));
  assert.ok(back.subarray(40 * BS, 43 * BS).equals(Buffer.alloc(3 * BS)));
  assert.equal(back[8 * BS - 1], 0xc3);
  assert.equal(back[24 * BS], 0xc3);
  assert.equal(back[43 * BS], 0xc3);
  // Whole chunks (8..23) were anchored, not freed: still allocated, reported mapped.
  assert.equal(dev.allocatedChunks, 8);
  assert.deepEqual(await provisioning(n, 0, 64), every(64, MAPPED));
  // The same ranges with ANCHOR=0 deallocate: the chunk map shows the difference.
  assert.equal((await anchorUnmap(n, [{ lba: 8, blocks: 16 }], false)).status, 0);
  assert.deepEqual(await provisioning(n, 0, 32), [...every(8, MAPPED), ...every(16, DEALLOCATED), ...every(8, MAPPED)]);
});

test('UNMAP ANCHOR=1 on a deallocated range: it becomes mapped (allocated zeros)', async () => {
  const { dev, n } = await thin();
  assert.deepEqual(await provisioning(n, 256, 64), every(64, DEALLOCATED), 'never written');
  const chunks = dev.allocatedChunks;
  // Unaligned: LBAs 260..318 touch chunks 32..39 (LBAs 256..319), all of them allocated.
  assert.equal((await anchorUnmap(n, [{ lba: 260, blocks: 59 }])).status, 0);
  assert.equal(dev.allocatedChunks, chunks + 8);
  assert.deepEqual(await provisioning(n, 256, 72), [...every(64, MAPPED), ...every(8, DEALLOCATED)]);
  assert.ok((await read(n, 256, 72)).equals(Buffer.alloc(72 * BS)));
  // A write to an anchored LBA needs no new allocation.
  await write(n, 300, Buffer.alloc(4 * BS, 0x99));
  assert.equal(dev.allocatedChunks, chunks + 8);
});

test('UNMAP ANCHOR=1 goes through the same parameter-list checks, and a refused list anchors nothing', async () => {
  const { dev, n } = await thin({ ...ALL, maxUnmapLbaCount: 100, maxUnmapBlockDescriptorCount: 2 });
  await write(n, 0, Buffer.alloc(16 * BS, 0x5e));
  const untouched = async () => {
    assert.equal((await read(n, 0, 16)).every((b) => b === 0x5e), true, 'nothing anchored');
    assert.equal(dev.allocatedChunks, 2);
  };
  assert.deepEqual(asc(await run(n, unmapCdb(7, true), { data: Buffer.alloc(7) })), [5, 0x1a, 0], 'PARAMETER LIST LENGTH 1..7');
  assert.deepEqual(asc(await anchorUnmap(n, [{ lba: 0, blocks: 8 }, { lba: 8, blocks: 93 }])), [5, 0x26, 0], 'more than MAXIMUM UNMAP LBA COUNT');
  assert.deepEqual(asc(await anchorUnmap(n, [{ lba: 0, blocks: 1 }, { lba: 1, blocks: 1 }, { lba: 2, blocks: 1 }])), [5, 0x26, 0], 'too many descriptors');
  assert.deepEqual(asc(await anchorUnmap(n, [{ lba: 0, blocks: 8 }, { lba: BLOCKS - 1, blocks: 2 }])), [5, 0x21, 0], 'past the last LBA');
  await untouched();
  assert.equal((await run(n, unmapCdb(0, true), { edtl: 0, direction: 'none' })).status, 0, 'PARAMETER LIST LENGTH 0');
  assert.equal((await anchorUnmap(n, [{ lba: BLOCKS, blocks: 0 }])).status, 0, 'zero-length descriptor at the capacity');
  await untouched();
  assert.equal((await anchorUnmap(n, [{ lba: 0, blocks: 8 }, { lba: 8, blocks: 92 }])).status, 0, 'exactly at the limit');
  assert.ok((await read(n, 0, 100)).equals(Buffer.alloc(100 * BS)));
});

test('UNMAP ANCHOR=1 without ANC_SUP is INVALID FIELD IN CDB (byte 1 bit 0), before the parameter list is looked at', async () => {
  for (const [device, what] of [
    [withoutAnchor(await ramdisk()), 'thin, device cannot anchor'],
    [await openRamdisk({ size: BLOCKS * BS, blockSize: BS, nullio: true }), 'nullio'],
  ] as const) {
    const { n } = await lu(device, ALL);
    await write(n, 0, Buffer.alloc(BS, 0x17));
    assertInvalidCdbBit(await anchorUnmap(n, [{ lba: 0, blocks: 1 }]), 0, what);
    // A bad list does not change the answer: the CDB is wrong first.
    assertInvalidCdbBit(await run(n, unmapCdb(7, true), { data: Buffer.alloc(7) }), 0, `${what}, short list`);
    assert.equal((await anchorUnmap(n, [{ lba: 0, blocks: 1 }], false)).status, 0, `${what}: ANCHOR=0 still unmaps`);
  }
  // Fully provisioned: UNMAP itself is not supported, whatever ANCHOR says.
  const full = await lu(memoryDevice(), ALL);
  assert.deepEqual(asc(await anchorUnmap(full.n, [{ lba: 0, blocks: 1 }])), [5, 0x20, 0]);
});

test('UNMAP ANCHOR=1 is refused on a write-protected LU (DATA PROTECT) and to a nexus without the reservation', async () => {
  const wp = await lu(await ramdisk(), ALL, true);
  assert.deepEqual(asc(await anchorUnmap(wp.n, [{ lba: 0, blocks: 8 }])), [7, 0x27, 0]);
  const { dev, n, lu: l } = await thin();
  await dev.write(0, [Buffer.alloc(8 * BS, 0x61)]);
  const b = await l.open('b');
  assert.equal((await run(b, [0x16, 0, 0, 0, 0, 0], { edtl: 0, direction: 'none' })).status, 0, 'RESERVE(6) by b');
  assert.equal((await anchorUnmap(n, [{ lba: 0, blocks: 8 }])).status, 0x18, 'RESERVATION CONFLICT');
  assert.equal((await dev.read(0, 1))[0], 0x61);
  assert.equal((await anchorUnmap(b, [{ lba: 0, blocks: 8 }])).status, 0, 'the holder may');
  assert.equal((await dev.read(0, 1))[0], 0);
});

test('parseUnmapCdb carries the ANCHOR bit to execution (the LU decides)', () => {
  const p = parseUnmapCdb(Buffer.from(unmapCdb(24, true)), BLOCKS);
  assert.ok(!isSenseFailure(p));
  assert.equal(p.anchor, true);
  const q = parseUnmapCdb(Buffer.from(unmapCdb(24, false)), BLOCKS);
  assert.ok(!isSenseFailure(q) && !q.anchor);
});

// ---- WRITE SAME: the ANCHOR / UNMAP / ANC_SUP table ------------------------

const wsCdbs = (lba: number, blocks: number, flags: number) => [
  { name: 'WRITE SAME(10)', cdb: cdb10(WS10, lba, blocks, flags) },
  { name: 'WRITE SAME(16)', cdb: cdb16(WS16, BigInt(lba), blocks, flags) },
];

test('WRITE SAME UNMAP=0 ANCHOR=1: INVALID FIELD IN CDB (byte 1 bit 4) on every LU, nothing written', async () => {
  for (const [device, options, what] of [
    [await ramdisk(), ALL, 'thin, ANC_SUP=1'],
    [withoutAnchor(await ramdisk()), ALL, 'thin, ANC_SUP=0'],
    [memoryDevice(), undefined, 'fully provisioned'],
  ] as const) {
    const { n } = await lu(device, options);
    await write(n, 0, Buffer.alloc(8 * BS, 0x3c));
    for (const { name, cdb } of wsCdbs(0, 8, 0x10)) {
      assertInvalidCdbBit(await run(n, cdb, { data: Buffer.alloc(BS) }), 4, `${what}: ${name}`);
    }
    assert.ok((await read(n, 0, 8)).every((b) => b === 0x3c), `${what}: untouched`);
  }
});

test('WRITE SAME UNMAP=1 ANCHOR=1 with ANC_SUP=1 anchors: zeros whatever the Data-Out block holds, never deallocated', async () => {
  const { dev, n } = await thin();
  for (const at of [0, 64]) {
    for (const { name, cdb } of wsCdbs(at, 24, ANCHOR_UNMAP)) {
      await write(n, at, Buffer.alloc(32 * BS, 0xee));
      const r = await run(n, cdb, { data: Buffer.alloc(BS, 0xa6) });
      assert.equal(r.status, 0, name);
      const back = await read(n, at, 32);
      assert.ok(back.subarray(0, 24 * BS).equals(Buffer.alloc(24 * BS)), `${name} at ${at}: the anchored range reads zeros`);
      assert.equal(back[24 * BS], 0xee, `${name} at ${at}: the block after it is untouched`);
      assert.deepEqual(await provisioning(n, at, 32), every(32, MAPPED), `${name} at ${at}: mapped, not deallocated`);
    }
  }
  // Anchoring never-written (deallocated) LBAs maps them.
  const chunks = dev.allocatedChunks;
  assert.deepEqual(await provisioning(n, 512, 16), every(16, DEALLOCATED));
  assert.equal((await run(n, cdb16(WS16, 512n, 16, ANCHOR_UNMAP), { data: Buffer.alloc(BS) })).status, 0);
  assert.deepEqual(await provisioning(n, 512, 16), every(16, MAPPED));
  assert.equal(dev.allocatedChunks, chunks + 2);
  // NDOB with ANCHOR: no Data-Out at all.
  await write(n, 640, Buffer.alloc(8 * BS, 0x12));
  const ndob = await run(n, cdb16(WS16, 640n, 8, ANCHOR_UNMAP | 0x01), { edtl: 0, direction: 'none' });
  assert.equal(ndob.status, 0);
  assert.ok((await read(n, 640, 8)).equals(Buffer.alloc(8 * BS)));
  assert.deepEqual(await provisioning(n, 640, 8), every(8, MAPPED));
  // NUMBER OF LOGICAL BLOCKS 0 (WSNZ=0): to the end of the medium.
  await write(n, BLOCKS - 16, Buffer.alloc(16 * BS, 0x44));
  assert.equal((await run(n, cdb10(WS10, BLOCKS - 16, 0, ANCHOR_UNMAP), { data: Buffer.alloc(BS) })).status, 0);
  assert.ok((await read(n, BLOCKS - 16, 16)).equals(Buffer.alloc(16 * BS)));
  assert.deepEqual(await provisioning(n, BLOCKS - 16, 16), every(16, MAPPED));
  // The same command with ANCHOR=0 deallocates instead.
  assert.equal((await run(n, cdb10(WS10, BLOCKS - 16, 0, 0x08), { data: Buffer.alloc(BS) })).status, 0);
  assert.deepEqual(await provisioning(n, BLOCKS - 16, 16), every(16, DEALLOCATED));
});

test('WRITE SAME UNMAP=1 ANCHOR=1 refused: ANC_SUP=0 on the ANCHOR bit, no LBPWS on the UNMAP bit; range and length checks as for UNMAP=1', async () => {
  for (const [device, options, bit, what] of [
    [withoutAnchor(await ramdisk()), ALL, 4, 'thin, ANC_SUP=0'],
    [memoryDevice(), undefined, 4, 'fully provisioned'],
    [await ramdisk(), undefined, 4, 'ramdisk without thin provisioning'],
    [await ramdisk(), { unmap: true, writeSameUnmap: false }, 3, 'ANC_SUP=1 but LBPWS=LBPWS10=0'],
  ] as const) {
    const { n } = await lu(device, options);
    await write(n, 0, Buffer.alloc(8 * BS, 0x3c));
    for (const { name, cdb } of wsCdbs(0, 8, ANCHOR_UNMAP)) {
      assertInvalidCdbBit(await run(n, cdb, { data: Buffer.alloc(BS) }), bit, `${what}: ${name}`);
    }
    assert.ok((await read(n, 0, 8)).every((b) => b === 0x3c), `${what}: untouched`);
  }
  const { n } = await thin();
  assert.deepEqual(asc(await run(n, cdb16(WS16, BigInt(BLOCKS - 4), 8, ANCHOR_UNMAP), { data: Buffer.alloc(BS) })), [5, 0x21, 0], 'past the end');
  // A medium large enough for the range to fit (ramdisk chunks are allocated lazily).
  const big = await lu(await openRamdisk({ size: 0x20000 * BS, blockSize: BS }), ALL);
  const tooLong = await run(big.n, cdb16(WS16, 0n, 0x10000, ANCHOR_UNMAP), { data: Buffer.alloc(BS) });
  assert.deepEqual(asc(tooLong), [5, 0x24, 0], 'longer than MAXIMUM WRITE SAME LENGTH');
  assert.equal(sense(tooLong).sks!.readUInt16BE(1), 10);
  assert.deepEqual(asc(await run(n, cdb10(WS10, 0, 8, ANCHOR_UNMAP), { data: Buffer.alloc(2 * BS) })), [5, 0x0e, 0x03], 'one block of Data-Out');
});

test('WRITE SAME ANCHOR=1 on a write-protected thin LU is DATA PROTECT', async () => {
  const { n } = await lu(await ramdisk(), ALL, true);
  for (const { name, cdb } of wsCdbs(0, 8, ANCHOR_UNMAP)) assert.deepEqual(asc(await run(n, cdb, { data: Buffer.alloc(BS) })), [7, 0x27, 0], name);
});

test('parseWriteSame: ANCHOR needs UNMAP in the CDB; with it the ANCHOR bit is carried to execution', () => {
  const geometry = { blockSize: BS, blockCount: BLOCKS, maxTransferBlocks: 1024 };
  for (const size of [10, 16] as const) {
    const make = (flags: number) => Buffer.from(size === 10 ? cdb10(WS10, 0, 8, flags) : cdb16(WS16, 0n, 8, flags));
    const lone = parseWriteSame(make(0x10), size, geometry);
    assert.ok(isSenseFailure(lone));
    const both = parseWriteSame(make(ANCHOR_UNMAP), size, geometry);
    assert.ok(!isSenseFailure(both) && both.anchor && both.unmap);
    const plain = parseWriteSame(make(0x08), size, geometry);
    assert.ok(!isSenseFailure(plain) && !plain.anchor && plain.unmap);
  }
});
