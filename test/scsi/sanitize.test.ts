// SANITIZE (SBC-4 §5.30, §4.11): CDB and parameter list checks, OVERWRITE
// patterns, BLOCK ERASE on a thin LU, the background operation with NOT READY,
// SANITIZE IN PROGRESS and its progress indication, persistence through
// aborts and resets, failure mode and EXIT FAILURE MODE, the rate limit.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ABORTED, type LogicalUnitOptions, type LunMapping, type ScsiResult } from '../../src/scsi/api.js';
import type { BlockRange } from '../../src/backstore/types.js';
import { createLogicalUnit } from '../../src/scsi/logical-unit.js';
import { openNexus, type TargetScope } from '../../src/scsi/nexus.js';
import { cdb10, makeNexus, makeView, request, run, sense, WWN } from './harness.js';
import { ioError, memoryDevice, type MemoryDevice } from './memory-device.js';

const BS = 512;
const TUR = [0x00, 0, 0, 0, 0, 0];
const INQUIRY = [0x12, 0, 0, 0, 96, 0];
const REQUEST_SENSE = [0x03, 0, 0, 0, 252, 0];
const REPORT_LUNS = [0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
const RSOC_ALL = [0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0];

const OVERWRITE = 0x01;
const BLOCK_ERASE = 0x02;
const CRYPTO_ERASE = 0x03;
const EXIT_FAILURE_MODE = 0x1f;

function sanitizeCdb(sa: number, o: { immed?: boolean; ause?: boolean; length?: number } = {}): number[] {
  const len = o.length ?? 0;
  return [0x48, (o.immed ? 0x80 : 0) | (o.ause ? 0x20 : 0) | sa, 0, 0, 0, 0, 0, (len >> 8) & 0xff, len & 0xff, 0];
}

/** OVERWRITE parameter list: INVERT, OVERWRITE COUNT, INITIALIZATION PATTERN. */
function overwriteList(pattern: Buffer, passes = 1, invert = false, test = 0): Buffer {
  const b = Buffer.alloc(4 + pattern.length);
  b[0] = (invert ? 0x80 : 0) | (test << 5) | passes;
  b.writeUInt16BE(pattern.length, 2);
  pattern.copy(b, 4);
  return b;
}

interface ThinDevice extends MemoryDevice {
  unmapped: BlockRange[];
}

/** The memory device, made able to deallocate (what a thin fileio LU does with hole punching). */
function thinDevice(blockCount: number): ThinDevice {
  const dev = memoryDevice({ blockCount }) as ThinDevice;
  const mutable = dev as unknown as { unmap: (r: readonly BlockRange[]) => Promise<void>; unmapZeroes: boolean };
  dev.unmapped = [];
  mutable.unmapZeroes = true;
  mutable.unmap = async (ranges) => {
    for (const r of ranges) {
      dev.unmapped.push(r);
      dev.bytes.fill(0, r.lba * BS, (r.lba + r.blocks) * BS);
    }
  };
  return dev;
}

function sanitizeFixture(o: { blockCount?: number; dev?: MemoryDevice; writeProtect?: boolean; unit?: Partial<LogicalUnitOptions> } = {}) {
  const dev = o.dev ?? memoryDevice({ blockCount: o.blockCount ?? 64 });
  const unit = createLogicalUnit({ device: dev, name: 'disk0', wwn: WWN, vendor: 'TSGT', product: 'memdisk', revision: '0.1', ...o.unit });
  const mapping: LunMapping = { lun: 0, unit, writeProtect: o.writeProtect ?? false };
  const view = makeView([mapping]);
  const scope: TargetScope = { units: () => [unit] };
  return { dev, unit, open: (id: string) => openNexus(makeNexus(id), view, scope) };
}

function senseOf(r: ScsiResult): [number, number, number] {
  const s = sense(r);
  return [s.key, s.asc, s.ascq];
}

/** A gate that holds every device I/O until opened. */
function gate(dev: MemoryDevice): () => void {
  let open!: () => void;
  dev.gate = new Promise<void>((r) => (open = r));
  return () => {
    dev.gate = undefined;
    open();
  };
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 2));
  }
}

test('reserved CDB bits and bytes, unknown service actions and CRYPTOGRAPHIC ERASE are INVALID FIELD IN CDB', async () => {
  const a = sanitizeFixture().open('a');
  const list = overwriteList(Buffer.alloc(BS, 0xaa));
  const bad: number[][] = [];
  const withByte = (sa: number, i: number, v: number, length = 0) => {
    const c = sanitizeCdb(sa, { length });
    c[i] |= v;
    return c;
  };
  for (const sa of [OVERWRITE, BLOCK_ERASE, CRYPTO_ERASE]) {
    const length = sa === OVERWRITE ? list.length : 0;
    bad.push(withByte(sa, 1, 0x40, length));
    for (let i = 2; i <= 6; i++) bad.push(withByte(sa, i, i, length));
  }
  for (let sa = 0; sa <= 0x1f; sa++) if (sa !== OVERWRITE && sa !== BLOCK_ERASE && sa !== EXIT_FAILURE_MODE) bad.push(sanitizeCdb(sa));
  bad.push(sanitizeCdb(BLOCK_ERASE)); // a fully provisioned LU does not offer BLOCK ERASE
  for (let len = 0; len < 5; len++) bad.push(sanitizeCdb(OVERWRITE, { length: len }));
  bad.push(sanitizeCdb(OVERWRITE, { length: BS + 5 }));
  bad.push(sanitizeCdb(EXIT_FAILURE_MODE, { length: 8 }));
  for (const cdb of bad) {
    const r = await run(a, cdb, { data: Buffer.alloc(BS + 8) });
    assert.deepEqual(senseOf(r), [0x5, 0x24, 0x00], `CDB ${Buffer.from(cdb).toString('hex')}`);
  }
});

test('OVERWRITE parameter list errors are INVALID FIELD IN PARAMETER LIST, and nothing is written', async () => {
  const f = sanitizeFixture();
  const a = f.open('a');
  f.dev.bytes.fill(0x61);
  const lists = [
    overwriteList(Buffer.alloc(BS, 0xaa), 0), // OVERWRITE COUNT 0
    overwriteList(Buffer.alloc(BS, 0xaa), 1, false, 1), // TEST field
    Buffer.concat([Buffer.from([1, 0, 0, 0]), Buffer.alloc(BS, 0xaa)]), // pattern length 0
    Buffer.concat([Buffer.from([1, 0, (BS + 4) >> 8, (BS + 4) & 0xff]), Buffer.alloc(BS, 0xaa)]), // longer than a block
  ];
  for (const list of lists) {
    const r = await run(a, sanitizeCdb(OVERWRITE, { length: list.length }), { data: list });
    assert.deepEqual(senseOf(r), [0x5, 0x26, 0x00], list.subarray(0, 4).toString('hex'));
  }
  assert.ok(f.dev.bytes.every((b) => b === 0x61));
  assert.equal(f.unit.sanitizing, undefined);
});

test('OVERWRITE fills every block with the pattern, repeated from the start of each block, then flushes', async () => {
  const f = sanitizeFixture({ blockCount: 3000 }); // two backstore writes: 2048 blocks (1 MiB) + 952
  const a = f.open('a');
  f.dev.bytes.fill(0x61);
  const full = Buffer.alloc(BS);
  for (let i = 0; i < BS; i++) full[i] = i & 0xff;
  let list = overwriteList(full);
  assert.equal((await run(a, sanitizeCdb(OVERWRITE, { length: list.length }), { data: list })).status, 0);
  for (let lba = 0; lba < 3000; lba += 997) assert.deepEqual(f.dev.bytes.subarray(lba * BS, (lba + 1) * BS), full, `block ${lba}`);
  assert.ok(f.dev.flushes >= 1);

  list = overwriteList(Buffer.from([1, 2, 3]));
  assert.equal((await run(a, sanitizeCdb(OVERWRITE, { length: list.length }), { data: list })).status, 0);
  const block = f.dev.bytes.subarray(2999 * BS, 3000 * BS);
  assert.deepEqual([...block.subarray(0, 7)], [1, 2, 3, 1, 2, 3, 1]);
  assert.deepEqual([...block.subarray(BS - 2)], [(BS - 2) % 3 + 1, (BS - 1) % 3 + 1]);
  assert.deepEqual([...f.dev.bytes.subarray(BS, BS + 3)], [1, 2, 3], 'each block starts with the first pattern byte');
});

test('OVERWRITE with INVERT alternates the pattern so that the last pass writes it as given', async () => {
  const f = sanitizeFixture({ blockCount: 8 });
  const a = f.open('a');
  const writes: Buffer[] = [];
  const write = f.dev.write.bind(f.dev);
  f.dev.write = async (lba, data, o) => {
    writes.push(Buffer.from(data[0].subarray(0, 1)));
    return write(lba, data, o);
  };
  const list = overwriteList(Buffer.from([0x0f]), 2, true);
  assert.equal((await run(a, sanitizeCdb(OVERWRITE, { length: list.length }), { data: list })).status, 0);
  assert.deepEqual(writes.map((b) => b[0]), [0xf0, 0x0f], 'two passes: inverted first');
  assert.ok(f.dev.bytes.every((b) => b === 0x0f));
});

test('REPORT SUPPORTED OPERATION CODES and VPD B1h follow what the LU offers', async () => {
  const listed = async (o: Parameters<typeof sanitizeFixture>[0]) => {
    const r = await run(sanitizeFixture(o).open('a'), RSOC_ALL, { edtl: 4096 });
    const d = r.data!;
    const sas: number[] = [];
    for (let p = 4; p + 8 <= 4 + d.readUInt32BE(0); p += 8) if (d[p] === 0x48) sas.push(d.readUInt16BE(p + 2));
    const b1 = (await run(sanitizeFixture(o).open('b'), [0x12, 1, 0xb1, 0, 64, 0], { edtl: 64 })).data!;
    return { sas, wabereq: b1[7] >> 6, wacereq: (b1[7] >> 4) & 3 };
  };
  assert.deepEqual(await listed({}), { sas: [OVERWRITE, EXIT_FAILURE_MODE], wabereq: 0, wacereq: 0 });
  const thin = { dev: thinDevice(64), unit: { provisioning: { unmap: true, writeSameUnmap: true } } };
  assert.deepEqual(await listed(thin), { sas: [OVERWRITE, BLOCK_ERASE, EXIT_FAILURE_MODE], wabereq: 1, wacereq: 0 });
});

test('BLOCK ERASE on a thin LU deallocates every block', async () => {
  const dev = thinDevice(5000);
  const f = sanitizeFixture({ dev, unit: { provisioning: { unmap: true, writeSameUnmap: true } } });
  const a = f.open('a');
  dev.bytes.fill(0x61);
  assert.equal((await run(a, sanitizeCdb(BLOCK_ERASE))).status, 0);
  assert.ok(dev.bytes.every((b) => b === 0));
  const covered = dev.unmapped.reduce((n, r) => n + r.blocks, 0);
  assert.equal(covered, 5000);
  assert.deepEqual(senseOf(await run(a, sanitizeCdb(BLOCK_ERASE, { length: 8 }), { data: Buffer.alloc(8) })), [0x5, 0x24, 0x00]);
});

test('while a sanitize runs: NOT READY, SANITIZE IN PROGRESS with progress; INQUIRY, REPORT LUNS, REQUEST SENSE work', async () => {
  const f = sanitizeFixture({ blockCount: 8192 }); // 4 MiB: four chunks
  const a = f.open('a');
  const b = f.open('b');
  const open = gate(f.dev);
  const list = overwriteList(Buffer.from([0xaa]));
  const r = await run(a, sanitizeCdb(OVERWRITE, { immed: true, length: list.length }), { data: list });
  assert.equal(r.status, 0, 'IMMED=1 returns once the operation has started');
  assert.ok(f.unit.sanitizing);
  for (const [nexus, cdb, edtl] of [[a, TUR, 0], [b, cdb10(0x28, 0, 1), BS], [b, [0x1b, 1, 0, 0, 0x12, 0], 0], [a, sanitizeCdb(EXIT_FAILURE_MODE), 0]] as const) {
    const s = sense(await run(nexus, [...cdb], { edtl }));
    assert.deepEqual([s.key, s.asc, s.ascq], [0x2, 0x04, 0x1b]);
    assert.ok(s.sks && (s.sks[0] & 0x80) !== 0, 'SKSV with a progress indication');
  }
  assert.equal((await run(b, INQUIRY)).status, 0);
  assert.equal((await run(b, REPORT_LUNS, { edtl: 256 })).status, 0);
  const polled = await run(b, REQUEST_SENSE, { edtl: 252 });
  assert.equal(polled.status, 0, 'REQUEST SENSE polls the operation with GOOD status');
  assert.deepEqual([polled.data![2] & 0xf, polled.data![12], polled.data![13], polled.data![15] & 0x80], [0x2, 0x04, 0x1b, 0x80]);
  open();
  await until(() => f.unit.sanitizing === undefined);
  assert.equal((await run(a, TUR)).status, 0);
  assert.ok(f.dev.bytes.every((x) => x === 0xaa));
  const rs = await run(b, REQUEST_SENSE, { edtl: 252 });
  assert.deepEqual([rs.data![2] & 0xf, rs.data![12]], [0x0, 0x00], 'NO SENSE once done');
});

test('REQUEST SENSE in descriptor format carries the progress in a sense key specific descriptor', async () => {
  const f = sanitizeFixture({ blockCount: 64 });
  const a = f.open('a');
  const open = gate(f.dev);
  const list = overwriteList(Buffer.from([1]));
  assert.equal((await run(a, sanitizeCdb(OVERWRITE, { immed: true, length: list.length }), { data: list })).status, 0);
  const rs = await run(a, [0x03, 1, 0, 0, 252, 0], { edtl: 252 });
  const d = rs.data!;
  assert.equal(d[0], 0x72);
  assert.deepEqual([d[1], d[2], d[3]], [0x2, 0x04, 0x1b]);
  assert.equal(d[7], 8);
  assert.deepEqual([d[8], d[9], d[12] & 0x80], [0x02, 0x06, 0x80]);
  open();
  await until(() => f.unit.sanitizing === undefined);
});

test('the operation survives ABORT TASK, LU reset and I_T nexus loss of its command', async () => {
  const f = sanitizeFixture({ blockCount: 64 });
  const a = f.open('a');
  const b = f.open('b');
  const open = gate(f.dev);
  const list = overwriteList(Buffer.from([0x3c]));
  const req = request(sanitizeCdb(OVERWRITE, { length: list.length }), { data: list, tag: 77 });
  const task = a.execute(req);
  await until(() => f.unit.sanitizing !== undefined);
  assert.equal(await a.taskManagement({ function: 'abort-task', lun: Buffer.alloc(8), referencedTag: 77 }), 'function-complete');
  assert.equal(await task.outcome, ABORTED);
  assert.equal(await b.taskManagement({ function: 'logical-unit-reset', lun: Buffer.alloc(8) }), 'function-complete');
  a.close();
  assert.ok(f.unit.sanitizing, 'still running');
  assert.deepEqual(senseOf(await run(b, cdb10(0x28, 0, 1), { edtl: BS })), [0x6, 0x29, 0x03], 'unit attention first');
  assert.deepEqual(senseOf(await run(b, TUR)), [0x2, 0x04, 0x1b]);
  open();
  await until(() => f.unit.sanitizing === undefined);
  assert.ok(f.dev.bytes.every((x) => x === 0x3c));
  assert.equal((await run(b, TUR)).status, 0);
});

test('a failed operation: MEDIUM ERROR, SANITIZE COMMAND FAILED until a sanitize succeeds (AUSE=0)', async () => {
  const f = sanitizeFixture({ blockCount: 64 });
  const a = f.open('a');
  const list = overwriteList(Buffer.from([0x11]));
  const cmd = (o: { ause?: boolean } = {}) => sanitizeCdb(OVERWRITE, { length: list.length, ...o });
  f.dev.failNext = { op: 'write', error: ioError('write', 0) };
  assert.deepEqual(senseOf(await run(a, cmd(), { data: list })), [0x3, 0x31, 0x03]);
  assert.deepEqual(senseOf(await run(a, cdb10(0x28, 0, 1), { edtl: BS })), [0x3, 0x31, 0x03]);
  assert.deepEqual(senseOf(await run(a, TUR)), [0x3, 0x31, 0x03]);
  assert.equal((await run(a, INQUIRY)).status, 0);
  const rs = await run(a, REQUEST_SENSE, { edtl: 252 });
  assert.deepEqual([rs.data![2] & 0xf, rs.data![12], rs.data![13]], [0x3, 0x31, 0x03]);
  assert.deepEqual(senseOf(await run(a, sanitizeCdb(EXIT_FAILURE_MODE))), [0x5, 0x24, 0x00], 'restricted: no EXIT FAILURE MODE');
  assert.deepEqual(senseOf(await run(a, cmd({ ause: true }), { data: list })), [0x5, 0x24, 0x00], 'restricted: no AUSE=1');
  assert.equal((await run(a, cmd(), { data: list })).status, 0, 'a successful sanitize ends the failure mode');
  assert.equal((await run(a, cdb10(0x28, 0, 1), { edtl: BS })).status, 0);
});

test('a failed operation with AUSE=1 is left with EXIT FAILURE MODE', async () => {
  const f = sanitizeFixture({ blockCount: 64 });
  const a = f.open('a');
  const list = overwriteList(Buffer.from([0x11]));
  f.dev.failNext = { op: 'flush', error: ioError('write', 0) };
  assert.deepEqual(senseOf(await run(a, sanitizeCdb(OVERWRITE, { ause: true, length: list.length }), { data: list })), [0x3, 0x31, 0x03]);
  assert.deepEqual(senseOf(await run(a, TUR)), [0x3, 0x31, 0x03]);
  assert.equal((await run(a, sanitizeCdb(EXIT_FAILURE_MODE))).status, 0);
  assert.equal((await run(a, TUR)).status, 0);
  assert.equal((await run(a, sanitizeCdb(EXIT_FAILURE_MODE))).status, 0, 'nothing to leave: GOOD');
});

test('write protection and an ejected medium refuse SANITIZE', async () => {
  const list = overwriteList(Buffer.from([1]));
  const wp = sanitizeFixture({ writeProtect: true }).open('a');
  assert.deepEqual(senseOf(await run(wp, sanitizeCdb(OVERWRITE, { length: list.length }), { data: list })), [0x7, 0x27, 0x00]);
  const f = sanitizeFixture({ unit: { removable: true } });
  const a = f.open('a');
  assert.equal((await run(a, [0x1b, 0, 0, 0, 0x02, 0])).status, 0);
  assert.deepEqual(senseOf(await run(a, sanitizeCdb(OVERWRITE, { length: list.length }), { data: list })), [0x2, 0x3a, 0x00]);
});

test('sanitizeBytesPerSecond paces the operation and the progress indication moves', async () => {
  const blockCount = 8192; // 4 MiB at 8 MiB/s: about half a second
  const f = sanitizeFixture({ blockCount, unit: { sanitizeBytesPerSecond: 8 * 1024 * 1024 } });
  const a = f.open('a');
  const list = overwriteList(Buffer.from([0x77]));
  const started = Date.now();
  assert.equal((await run(a, sanitizeCdb(OVERWRITE, { immed: true, length: list.length }), { data: list })).status, 0);
  const seen: number[] = [];
  while (f.unit.sanitizing !== undefined && Date.now() - started < 5000) {
    seen.push(f.unit.sanitizing.progress);
    await new Promise((r) => setTimeout(r, 20));
  }
  const elapsed = Date.now() - started;
  assert.equal(f.unit.sanitizing, undefined);
  assert.ok(elapsed >= 400, `took ${elapsed} ms`);
  assert.ok(seen.some((p) => p > 0 && p < 0x10000), `progress seen: ${seen.join(',')}`);
  assert.ok(seen.every((p, i) => i === 0 || p >= seen[i - 1]), 'progress never goes back');
});
