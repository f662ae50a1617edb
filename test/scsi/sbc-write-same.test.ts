import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fixture, clearUnitAttentions, run, sense, cdb16 } from './harness.js';
import { memoryDevice, type MemoryDeviceOptions } from './memory-device.js';
import { isSenseFailure, SenseReason } from '../../src/scsi/sense.js';
import { parseWriteSame, writeSameRange, WRITE_SAME_CHUNK_BYTES } from '../../src/scsi/sbc/write-same.js';
import { blockLimits } from '../../src/scsi/sbc/vpd-block-device.js';

const WS10 = 0x41;
const WS16 = 0x93;

function ws10(lba: number, blocks: number, flags = 0): number[] {
  return [WS10, flags, (lba >>> 24) & 0xff, (lba >>> 16) & 0xff, (lba >>> 8) & 0xff, lba & 0xff, 0, (blocks >> 8) & 0xff, blocks & 0xff, 0];
}

async function ready(opts: MemoryDeviceOptions & { writeProtect?: boolean } = {}) {
  const f = fixture(opts);
  const n = f.open('a');
  await clearUnitAttentions(n);
  return { f, n };
}

function block(byte: number, size = 512): Buffer {
  const b = Buffer.alloc(size, byte);
  b[0] = 0x5a; // not uniform, so a replicated block is distinguishable from a fill
  return b;
}

function assertRange(bytes: Buffer, lba: number, blocks: number, pattern: Buffer): void {
  const bs = pattern.length;
  for (let i = 0; i < blocks; i++) {
    assert.ok(bytes.subarray((lba + i) * bs, (lba + i + 1) * bs).equals(pattern), `block ${lba + i}`);
  }
}

test('WRITE SAME(10) replicates one block of Data-Out over the range', async () => {
  const { f, n } = await ready();
  const pattern = block(0xa6);
  const r = await run(n, ws10(10, 7), { data: pattern });
  assert.equal(r.status, 0);
  assert.equal(r.transferLength, 512);
  assertRange(f.dev.bytes, 10, 7, pattern);
  assert.equal(f.dev.bytes[9 * 512 + 511], 0, 'block before the range untouched');
  assert.equal(f.dev.bytes[17 * 512], 0, 'block after the range untouched');
});

test('WRITE SAME(16) over a large range writes bounded chunks from one buffer', async () => {
  const { f, n } = await ready({ blockCount: 8192 });
  const pattern = block(0x11);
  const before = f.dev.log.length;
  const r = await run(n, cdb16(WS16, 100n, 5000), { data: pattern });
  assert.equal(r.status, 0);
  const writes = f.dev.log.slice(before).filter((e) => e.op === 'write');
  const chunk = WRITE_SAME_CHUNK_BYTES / 512;
  assert.deepEqual(
    writes.map((w) => [w.lba, w.blocks]),
    [
      [100, chunk],
      [100 + chunk, chunk],
      [100 + 2 * chunk, 5000 - 2 * chunk],
    ],
  );
  assertRange(f.dev.bytes, 100, 5000, pattern);
});

test('WRITE SAME NUMBER OF LOGICAL BLOCKS 0 (WSNZ=0) writes through the last block', async () => {
  const { f, n } = await ready({ blockCount: 64 });
  const pattern = block(0x33);
  assert.equal((await run(n, ws10(60, 0), { data: pattern })).status, 0);
  assertRange(f.dev.bytes, 60, 4, pattern);
  assert.equal(f.dev.bytes[59 * 512], 0);
  // From the last LBA: one block. Past it: LBA OUT OF RANGE.
  assert.equal((await run(n, cdb16(WS16, 63n, 0), { data: pattern })).status, 0);
  for (const lba of [64n, 65n, 1n << 63n, (1n << 64n) - 1n]) {
    const s = sense(await run(n, cdb16(WS16, lba, 0), { data: pattern }));
    assert.deepEqual([s.key, s.asc, s.ascq], [0x05, 0x21, 0x00], `lba ${lba}`);
  }
});

test('WRITE SAME beyond the end of the medium: LBA OUT OF RANGE, nothing written', async () => {
  const { f, n } = await ready({ blockCount: 100 });
  const before = f.dev.log.length;
  for (const [lba, blocks] of [
    [100, 1],
    [99, 2],
    [0xffffffff, 1],
  ]) {
    const s = sense(await run(n, ws10(lba, blocks), { data: block(1) }));
    assert.deepEqual([s.key, s.asc], [0x05, 0x21], `lba ${lba} blocks ${blocks}`);
  }
  assert.equal(f.dev.log.length, before);
});

test('MAXIMUM WRITE SAME LENGTH is enforced, also for an open-ended range', () => {
  const geometry = { blockSize: 512, blockCount: 1e9, maxTransferBlocks: 16384 };
  const max = blockLimits(geometry).maxWriteSameBlocks;
  assert.ok(max > 256);
  const ok = parseWriteSame(cdb16(WS16, 0n, max), 16, geometry);
  assert.ok(!isSenseFailure(ok) && ok.blocks === max);
  const tooLong = parseWriteSame(cdb16(WS16, 0n, max + 1), 16, geometry);
  assert.ok(isSenseFailure(tooLong) && tooLong.reason === SenseReason.InvalidFieldInCdb);
  assert.equal(isSenseFailure(tooLong) && tooLong.field?.byte, 10);
  // 0 blocks from LBA 0 of a medium longer than the limit: refused.
  const open = parseWriteSame(cdb16(WS16, 0n, 0), 16, geometry);
  assert.ok(isSenseFailure(open) && open.reason === SenseReason.InvalidFieldInCdb);
  const tail = parseWriteSame(cdb16(WS16, BigInt(1e9 - max), 0), 16, geometry);
  assert.ok(!isSenseFailure(tail) && tail.blocks === max);
});

test('WRPROTECT, ANCHOR, UNMAP, PBDATA, LBDATA: INVALID FIELD IN CDB with the bit pointed at', async () => {
  const { f, n } = await ready();
  const before = f.dev.log.length;
  for (const [flags, bit] of [
    [0x20, 7],
    [0xe0, 7],
    [0x10, 4],
    [0x08, 3],
    [0x18, 4],
    [0x04, 2],
    [0x02, 1],
  ]) {
    for (const cdb of [ws10(0, 1, flags), cdb16(WS16, 0n, 1, flags)]) {
      const s = sense(await run(n, cdb, { data: Buffer.alloc(512) }));
      assert.deepEqual([s.key, s.asc, s.ascq], [0x05, 0x24, 0x00], `flags ${flags.toString(16)}`);
      assert.ok(s.sks);
      assert.equal(s.sks[0] & 0x07, bit);
      assert.equal(s.sks.readUInt16BE(1), 1);
    }
  }
  assert.equal(f.dev.log.length, before);
});

test('WRITE SAME(16) NDOB: zeros without Data-Out', async () => {
  const { f, n } = await ready();
  f.dev.bytes.fill(0xff, 0, 20 * 512);
  const req = { received: [] as number[] };
  const r = await run(n, cdb16(WS16, 2n, 5, 0x01), {
    edtl: 0,
    direction: 'none',
    receiveData: async (len) => {
      req.received.push(len);
      return [];
    },
  });
  assert.equal(r.status, 0);
  assert.deepEqual(req.received, []);
  assert.ok(f.dev.bytes.subarray(2 * 512, 7 * 512).equals(Buffer.alloc(5 * 512)));
  assert.equal(f.dev.bytes[1 * 512], 0xff);
  assert.equal(f.dev.bytes[7 * 512], 0xff);
});

test('a zero block goes through writeZeroes when the backstore has it; other data does not', async () => {
  const dev = memoryDevice();
  const zeroed: [number, number][] = [];
  Object.assign(dev, {
    async writeZeroes(lba: number, blocks: number) {
      zeroed.push([lba, blocks]);
      dev.bytes.fill(0, lba * 512, (lba + blocks) * 512);
    },
  });
  dev.bytes.fill(0xee);
  const controller = new AbortController();
  await writeSameRange(dev, 4, 9, Buffer.alloc(512), controller.signal);
  await writeSameRange(dev, 20, 2, undefined, controller.signal);
  assert.deepEqual(zeroed, [
    [4, 9],
    [20, 2],
  ]);
  assert.equal(dev.log.filter((e) => e.op === 'write').length, 0);
  await writeSameRange(dev, 30, 2, block(0), controller.signal);
  assert.deepEqual(zeroed.length, 2);
  assert.equal(dev.log.filter((e) => e.op === 'write').length, 1);
  assert.ok(dev.bytes.subarray(4 * 512, 13 * 512).equals(Buffer.alloc(9 * 512)));
});

test('Data-Out other than exactly one block is refused and nothing is written', async () => {
  const { f, n } = await ready();
  const before = f.dev.log.length;
  const short = sense(await run(n, ws10(0, 4), { data: Buffer.alloc(256, 1) }));
  assert.equal(short.key, 0x05);
  const long = sense(await run(n, ws10(0, 4), { data: Buffer.alloc(1024, 1) }));
  assert.equal(long.key, 0x05);
  const none = sense(await run(n, ws10(0, 4), { edtl: 0, direction: 'none' }));
  assert.equal(none.key, 0x05);
  assert.equal(f.dev.log.length, before);
});

test('WRITE SAME on a write-protected LU: DATA PROTECT', async () => {
  const { f, n } = await ready({ writeProtect: true });
  const s = sense(await run(n, ws10(0, 1), { data: block(1) }));
  assert.deepEqual([s.key, s.asc], [0x07, 0x27]);
  const s16 = sense(await run(n, cdb16(WS16, 0n, 1, 0x01), { edtl: 0, direction: 'none' }));
  assert.equal(s16.key, 0x07);
  assert.equal(f.dev.log.filter((e) => e.op === 'write').length, 0);
});

test('property: WRITE SAME leaves the pattern in the range and nothing outside it', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 1, max: 300 }),
      fc.uint8Array({ minLength: 512, maxLength: 512 }),
      fc.boolean(),
      async (lba, blocks, bytes, sixteen) => {
        const { f, n } = await ready({ blockCount: 600 });
        f.dev.bytes.fill(0xc3);
        const pattern = Buffer.from(bytes);
        const cdb = sixteen ? cdb16(WS16, BigInt(lba), blocks) : ws10(lba, blocks);
        assert.equal((await run(n, cdb, { data: pattern })).status, 0);
        assertRange(f.dev.bytes, lba, blocks, pattern);
        assert.ok(f.dev.bytes.subarray(0, lba * 512).every((b) => b === 0xc3));
        assert.ok(f.dev.bytes.subarray((lba + blocks) * 512).every((b) => b === 0xc3));
      },
    ),
    { numRuns: 60 },
  );
});
