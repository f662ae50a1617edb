import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ABORTED } from '../../src/scsi/api.js';
import { fixture, clearUnitAttentions, run, sense, cdb10, request } from './harness.js';
import { isSenseFailure, SenseReason } from '../../src/scsi/sense.js';
import { parseCompareAndWrite, sliceIovec } from '../../src/scsi/sbc/compare-and-write.js';
import { blockLimits } from '../../src/scsi/sbc/vpd-block-device.js';

const CAW = 0x89;

function caw(lba: number, blocks: number, flags = 0): Buffer {
  const b = Buffer.alloc(16);
  b[0] = CAW;
  b[1] = flags;
  b.writeBigUInt64BE(BigInt(lba), 2);
  b[13] = blocks;
  return b;
}

async function ready() {
  const f = fixture();
  const a = f.open('a');
  const b = f.open('b');
  await clearUnitAttentions(a);
  await clearUnitAttentions(b);
  return { f, a, b };
}

function gate() {
  let open!: () => void;
  const p = new Promise<void>((resolve) => (open = resolve));
  return { p, open };
}

const fill = (blocks: number, byte: number) => Buffer.alloc(blocks * 512, byte);

test('COMPARE AND WRITE: matching verify data → the write half is written', async () => {
  const { f, a } = await ready();
  f.dev.bytes.fill(0x41, 8 * 512, 11 * 512);
  const r = await run(a, caw(8, 3), { data: Buffer.concat([fill(3, 0x41), fill(3, 0x42)]) });
  assert.equal(r.status, 0);
  assert.equal(r.transferLength, 6 * 512);
  assert.ok(f.dev.bytes.subarray(8 * 512, 11 * 512).equals(fill(3, 0x42)));
  assert.equal(f.dev.bytes[11 * 512], 0);
});

test('COMPARE AND WRITE: miscompare → MISCOMPARE 1D/00, INFORMATION = offset of the first differing byte, medium unchanged', async () => {
  const { f, a } = await ready();
  f.dev.bytes.fill(0x41, 0, 2 * 512);
  const verify = fill(2, 0x41);
  verify[2 * 512 - 27] = 0x43;
  verify[2 * 512 - 3] = 0x43;
  const writesBefore = f.dev.log.filter((e) => e.op === 'write').length;
  const r = await run(a, caw(0, 2), { data: Buffer.concat([verify, fill(2, 0x42)]) });
  assert.equal(r.status, 2);
  const s = sense(r);
  assert.deepEqual([s.key, s.asc, s.ascq], [0x0e, 0x1d, 0x00]);
  assert.equal(s.information, 2 * 512 - 27);
  assert.equal(r.sense![0] & 0x80, 0x80, 'VALID bit');
  assert.ok(f.dev.bytes.subarray(0, 2 * 512).equals(fill(2, 0x41)));
  assert.equal(f.dev.log.filter((e) => e.op === 'write').length, writesBefore);
});

test('COMPARE AND WRITE: Data-Out split across buffers is compared and written correctly', () => {
  const parts = [Buffer.from([1, 2, 3]), Buffer.from([4, 5]), Buffer.from([6, 7, 8, 9])];
  assert.deepEqual(Buffer.concat(sliceIovec(parts, 2, 5)), Buffer.from([3, 4, 5, 6, 7]));
  assert.deepEqual(Buffer.concat(sliceIovec(parts, 5, 4)), Buffer.from([6, 7, 8, 9]));
  assert.deepEqual(sliceIovec(parts, 9, 3), []);
});

test('COMPARE AND WRITE: NUMBER OF LOGICAL BLOCKS above MAXIMUM COMPARE AND WRITE LENGTH → INVALID FIELD IN CDB', () => {
  const geometry = { blockSize: 512, blockCount: 1000, maxTransferBlocks: 100 };
  assert.equal(blockLimits(geometry).maxCompareAndWriteBlocks, 50);
  assert.equal(blockLimits({ blockSize: 512, maxTransferBlocks: 16384 }).maxCompareAndWriteBlocks, 255);
  const ok = parseCompareAndWrite(caw(0, 50), geometry);
  assert.ok(!isSenseFailure(ok) && ok.blocks === 50);
  const bad = parseCompareAndWrite(caw(0, 51), geometry);
  assert.ok(isSenseFailure(bad) && bad.reason === SenseReason.InvalidFieldInCdb && bad.field?.byte === 13);
});

test('COMPARE AND WRITE: Data-Out not matching 2 × NUMBER OF LOGICAL BLOCKS is refused (libiscsi: 256 blocks wraps to 0)', async () => {
  const { f, a } = await ready();
  const before = f.dev.log.length;
  // 256-block request: the one-byte field wrapped to 0 but 2×256 blocks are sent.
  const wrapped = sense(await run(a, caw(0, 0), { data: fill(512, 0) }));
  assert.deepEqual([wrapped.key, wrapped.asc, wrapped.ascq], [0x05, 0x24, 0x00]);
  const tooMuch = sense(await run(a, caw(0, 1), { data: fill(4, 0) }));
  assert.deepEqual([tooMuch.key, tooMuch.asc], [0x05, 0x24]);
  const tooLittle = sense(await run(a, caw(0, 2), { data: fill(3, 0) }));
  assert.equal(tooLittle.key, 0x05);
  assert.equal(f.dev.log.length, before);
  // 0 blocks without Data-Out: nothing to do, not an error (SBC-3 §5.2).
  assert.equal((await run(a, caw(0, 0), { edtl: 0, direction: 'none' })).status, 0);
  assert.equal(f.dev.log.length, before);
});

test('COMPARE AND WRITE: WRPROTECT → INVALID FIELD IN CDB, out of range → LBA OUT OF RANGE, FUA reaches the backstore', async () => {
  const { f, a } = await ready();
  const data = Buffer.concat([fill(1, 0), fill(1, 7)]);
  for (let p = 1; p < 8; p++) {
    const s = sense(await run(a, caw(0, 1, p << 5), { data }));
    assert.deepEqual([s.key, s.asc], [0x05, 0x24]);
  }
  for (const lba of [1024, 2 ** 40]) {
    const s = sense(await run(a, caw(lba, 1), { data }));
    assert.deepEqual([s.key, s.asc], [0x05, 0x21]);
  }
  assert.equal(sense(await run(a, caw(1023, 2), { data: Buffer.concat([fill(2, 0), fill(2, 0)]) })).asc, 0x21);
  assert.equal((await run(a, caw(5, 1, 0x18), { data })).status, 0);
  assert.deepEqual(f.dev.log.at(-1), { op: 'write', lba: 5, blocks: 1, fua: true });
});

test('COMPARE AND WRITE is atomic: two nexuses racing on the same block, exactly one wins', async () => {
  const { f, a, b } = await ready();
  const g = gate();
  f.dev.gate = g.p;
  const ta = a.execute(request(caw(40, 1), { data: Buffer.concat([fill(1, 0), fill(1, 0xaa)]) }));
  const tb = b.execute(request(caw(40, 1), { data: Buffer.concat([fill(1, 0), fill(1, 0xbb)]) }));
  // Let both reach the device server before the I/O may proceed.
  await new Promise((resolve) => setImmediate(resolve));
  f.dev.gate = undefined;
  g.open();
  const [ra, rb] = await Promise.all([ta.outcome, tb.outcome]);
  assert.ok(ra !== ABORTED && rb !== ABORTED);
  // Arrival order: a compares first and writes; b then sees a's data.
  assert.equal(ra.status, 0);
  assert.equal(rb.status, 2);
  assert.equal(sense(rb).key, 0x0e);
  assert.equal(sense(rb).information, 0);
  assert.ok(f.dev.bytes.subarray(40 * 512, 41 * 512).equals(fill(1, 0xaa)));
  // b's CAW only read after a's write had completed.
  const io = f.dev.log.filter((e) => e.lba === 40).map((e) => e.op);
  assert.deepEqual(io, ['read', 'write', 'read']);
});

test('COMPARE AND WRITE is atomic against a READ and a WRITE from another nexus arriving meanwhile', async () => {
  const { f, a, b } = await ready();
  f.dev.bytes.fill(0x01, 50 * 512, 52 * 512);
  const g = gate();
  f.dev.gate = g.p;
  const tcaw = a.execute(request(caw(50, 2), { data: Buffer.concat([fill(2, 0x01), fill(2, 0x02)]) }));
  const tread = b.execute(request(cdb10(0x28, 51, 1), { edtl: 512 }));
  const twrite = b.execute(request(cdb10(0x2a, 50, 1), { data: fill(1, 0x03) }));
  await new Promise((resolve) => setImmediate(resolve));
  f.dev.gate = undefined;
  g.open();
  const [rc, rr, rw] = await Promise.all([tcaw.outcome, tread.outcome, twrite.outcome]);
  assert.ok(rc !== ABORTED && rr !== ABORTED && rw !== ABORTED);
  assert.equal(rc.status, 0);
  assert.ok(rr.data!.equals(fill(1, 0x02)), 'the READ sees the whole COMPARE AND WRITE result');
  assert.equal(rw.status, 0);
  assert.ok(f.dev.bytes.subarray(50 * 512, 51 * 512).equals(fill(1, 0x03)), 'the later WRITE lands after');
  assert.ok(f.dev.bytes.subarray(51 * 512, 52 * 512).equals(fill(1, 0x02)));
});
