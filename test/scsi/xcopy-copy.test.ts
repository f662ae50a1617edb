import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ABORTED, type ScsiNexusHandle, type ScsiResult } from '../../src/scsi/api.js';
import { unitState, type LogicalUnitState } from '../../src/scsi/logical-unit.js';
import { encodeLun } from '../../src/scsi/lun-address.js';
import { openNexus } from '../../src/scsi/nexus.js';
import { encodeCopyParameterList, type CopyListHeader, type CscdSpec, type SegmentSpec } from '../../src/scsi/xcopy/parameter-list.js';
import { clearUnitAttentions, makeNexus, makeUnit, makeView, request, run, sense } from './harness.js';
import { ioError, memoryDevice, type MemoryDevice } from './memory-device.js';

const HOLD: CopyListHeader = { listId: 1, str: false, listIdUsage: 'hold', priority: 0 };

interface Lun {
  dev: MemoryDevice;
  unit: LogicalUnitState;
}

/** Two LUs (LUN 0 and 1) plus one LU in the target but outside the initiator's view. */
async function twoLuns(o: { blockSize1?: number; writeProtect1?: boolean } = {}) {
  const mk = (name: string, wwn: string, blockSize = 512): Lun => {
    const dev = memoryDevice({ blockSize, blockCount: (4096 * 512) / blockSize });
    return { dev, unit: makeUnit(dev, { name, wwn }) };
  };
  const l0 = mk('disk0', '01111111-2222-3333-4444-555555555555');
  const l1 = mk('disk1', '11111111-2222-3333-4444-555555555555', o.blockSize1);
  const hidden = mk('disk2', '21111111-2222-3333-4444-555555555555');
  const view = makeView([
    { lun: 0, unit: l0.unit, writeProtect: false },
    { lun: 1, unit: l1.unit, writeProtect: o.writeProtect1 ?? false },
  ]);
  const scope = { units: () => [l0.unit, l1.unit, hidden.unit] };
  const open = async (id: string) => {
    const n = openNexus(makeNexus(id), view, scope);
    await clearUnitAttentions(n, 0);
    await clearUnitAttentions(n, 1);
    return n;
  };
  return { l0, l1, hidden, a: await open('a'), open };
}

function cscdOf(l: Lun, over: Partial<CscdSpec> = {}): CscdSpec {
  return {
    peripheralDeviceType: 0,
    designator: { codeSet: 1, association: 0, type: 3, value: unitState(l.unit).naa },
    blockLength: l.dev.blockSize,
    ...over,
  };
}

function seg(source: number, destination: number, blocks: number, sourceLba: number, destinationLba: number, destinationCount = false): SegmentSpec {
  return { destinationCount, source, destination, blocks, sourceLba, destinationLba };
}

function xcopyCdb(length: number, serviceAction = 0): Buffer {
  const c = Buffer.alloc(16);
  c[0] = 0x83;
  c[1] = serviceAction;
  c.writeUInt32BE(length, 10);
  return c;
}

function xcopy(n: ScsiNexusHandle, list: Buffer, lun = 0): Promise<ScsiResult> {
  return run(n, xcopyCdb(list.length), { lun, data: list, edtl: list.length, direction: 'write' });
}

function fill(dev: MemoryDevice, lba: number, blocks: number, seed: number): Buffer {
  const b = Buffer.alloc(blocks * dev.blockSize);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7 + seed + (i >> 9)) & 0xff;
  b.copy(dev.bytes, lba * dev.blockSize);
  return b;
}

const blocksOf = (dev: MemoryDevice, lba: number, blocks: number) => dev.bytes.subarray(lba * dev.blockSize, (lba + blocks) * dev.blockSize);

/** COPY ABORTED sense, fixed format: key, ASC, ASCQ, COMMAND-SPECIFIC INFORMATION (segment), segment pointer. */
function copyAborted(r: ScsiResult) {
  assert.equal(r.status, 0x02);
  const s = r.sense!;
  assert.equal(s[0] & 0x7f, 0x70);
  return {
    key: s[2] & 0x0f,
    asc: s[12],
    ascq: s[13],
    segment: s.readUInt32BE(8),
    sd: (s[15] & 0x80) !== 0 ? (s[15] & 0x20) !== 0 : undefined,
    pointer: (s[15] & 0x80) !== 0 ? s.readUInt16BE(16) : undefined,
  };
}

test('cross-LU copy moves the data inside the target, in chunks, without touching anything else', async () => {
  const { l0, l1, a } = await twoLuns();
  const data = fill(l0.dev, 10, 3000, 1); // 1.5 MB: more than one 1 MiB chunk
  const list = encodeCopyParameterList(HOLD, [cscdOf(l0), cscdOf(l1)], [seg(0, 1, 3000, 10, 500)]);
  const r = await xcopy(a, list);
  assert.equal(r.status, 0);
  assert.ok(blocksOf(l1.dev, 500, 3000).equals(data));
  assert.ok(blocksOf(l1.dev, 0, 500).equals(Buffer.alloc(500 * 512)));
  assert.ok(blocksOf(l1.dev, 3500, 596).equals(Buffer.alloc(596 * 512)));
  const writes = l1.dev.log.filter((e) => e.op === 'write');
  assert.deepEqual(writes.map((w) => [w.lba, w.blocks]), [[500, 2048], [2548, 952]]);
  // The chunks left the task sets.
  assert.equal(unitState(l0.unit).tasks.size, 0);
  assert.equal(unitState(l1.unit).tasks.size, 0);
});

test('several segments, the same CSCD twice and CSCD ID FFFFh (the LU that received the command)', async () => {
  const { l0, l1, a } = await twoLuns();
  const d0 = fill(l0.dev, 0, 8, 3);
  const d1 = fill(l1.dev, 100, 4, 4);
  const list = encodeCopyParameterList(HOLD, [cscdOf(l1), cscdOf(l1, { blockLength: 0 })], [
    seg(0xffff, 0, 8, 0, 0), // LUN 0 → LUN 1
    seg(1, 0xffff, 4, 100, 200), // LUN 1 → LUN 0
  ]);
  assert.equal((await xcopy(a, list)).status, 0);
  assert.ok(blocksOf(l1.dev, 0, 8).equals(d0));
  assert.ok(blocksOf(l0.dev, 200, 4).equals(d1));
});

test('overlapping copy within one LU behaves like memmove in both directions', async () => {
  const { l0, a } = await twoLuns();
  const orig = fill(l0.dev, 0, 3000, 9);
  // Forward overlap (destination after source) is copied back to front.
  assert.equal((await xcopy(a, encodeCopyParameterList(HOLD, [], [seg(0xffff, 0xffff, 3000, 0, 1000)]))).status, 0);
  assert.ok(blocksOf(l0.dev, 1000, 3000).equals(orig));
  // Backward overlap is copied front to back.
  assert.equal((await xcopy(a, encodeCopyParameterList(HOLD, [], [seg(0xffff, 0xffff, 3000, 1000, 500)]))).status, 0);
  assert.ok(blocksOf(l0.dev, 500, 3000).equals(orig));
});

test('different block sizes: DC selects which blocks NUMBER OF BLOCKS counts; inexact segments abort', async () => {
  const { l0, l1, a } = await twoLuns({ blockSize1: 4096 });
  const d = fill(l0.dev, 0, 16, 5);
  // DC=1: 2 destination blocks of 4096 = 16 source blocks.
  assert.equal((await xcopy(a, encodeCopyParameterList(HOLD, [cscdOf(l0), cscdOf(l1)], [seg(0, 1, 2, 0, 3, true)]))).status, 0);
  assert.ok(blocksOf(l1.dev, 3, 2).equals(d));
  // DC=0: 3 source blocks = 1536 bytes, not a whole 4096-byte block.
  const r = await xcopy(a, encodeCopyParameterList(HOLD, [cscdOf(l0), cscdOf(l1)], [seg(0, 1, 3, 0, 3)]));
  assert.deepEqual(copyAborted(r), { key: 0x0a, asc: 0x26, ascq: 0x0a, segment: 0, sd: true, pointer: 10 });
});

test('COPY ABORTED table: unreachable, wrong type, bad block length, out of range (libiscsi ValidSegDescr)', async () => {
  const { l0, l1, hidden, a } = await twoLuns();
  const foreign = { ...cscdOf(l0), designator: { codeSet: 1, association: 0, type: 3, value: Buffer.alloc(16, 0x66) } };
  const t10 = { ...cscdOf(l0), designator: { codeSet: 2, association: 0, type: 1, value: Buffer.from('TSGT    x') } };
  const cases: [string, Buffer, ReturnType<typeof copyAborted>][] = [
    ['CSCD index beyond the list', encodeCopyParameterList(HOLD, [cscdOf(l0)], [seg(0, 1, 8, 0, 0)]), { key: 0x0a, asc: 0x0d, ascq: 0x02, segment: 0, sd: true, pointer: 6 }],
    ['NAA of no LU', encodeCopyParameterList(HOLD, [cscdOf(l0), foreign], [seg(0, 1, 8, 0, 0)]), { key: 0x0a, asc: 0x0d, ascq: 0x02, segment: 0, sd: false, pointer: 48 }],
    ['LU outside the LUN view', encodeCopyParameterList(HOLD, [cscdOf(hidden)], [seg(0, 0xffff, 8, 0, 0)]), { key: 0x0a, asc: 0x0d, ascq: 0x02, segment: 0, sd: false, pointer: 16 }],
    ['designator other than NAA', encodeCopyParameterList(HOLD, [t10], [seg(0, 0xffff, 8, 0, 0)]), { key: 0x0a, asc: 0x0d, ascq: 0x02, segment: 0, sd: false, pointer: 16 }],
    ['peripheral type 01h', encodeCopyParameterList(HOLD, [cscdOf(l1, { peripheralDeviceType: 1 })], [seg(0xffff, 0, 8, 0, 0)]), { key: 0x0a, asc: 0x0d, ascq: 0x03, segment: 0, sd: false, pointer: 17 }],
    ['block length not the LU one', encodeCopyParameterList(HOLD, [cscdOf(l1, { blockLength: 4096 })], [seg(0xffff, 0, 8, 0, 0)]), { key: 0x0a, asc: 0x26, ascq: 0x00, segment: 0, sd: false, pointer: 16 + 29 }],
    ['destination beyond capacity', encodeCopyParameterList(HOLD, [cscdOf(l1)], [seg(0xffff, 0, 2048, 0, 4095)]), { key: 0x0a, asc: 0x00, ascq: 0x00, segment: 0, sd: true, pointer: 20 }],
    ['source beyond capacity', encodeCopyParameterList(HOLD, [cscdOf(l1)], [seg(0xffff, 0, 1, 4096, 0)]), { key: 0x0a, asc: 0x00, ascq: 0x00, segment: 0, sd: true, pointer: 12 }],
    ['second segment fails', encodeCopyParameterList(HOLD, [cscdOf(l1)], [seg(0xffff, 0, 1, 0, 0), seg(0xffff, 3, 1, 0, 0)]), { key: 0x0a, asc: 0x0d, ascq: 0x02, segment: 1, sd: true, pointer: 6 }],
  ];
  for (const [name, list, want] of cases) {
    const r = await xcopy(a, list);
    assert.deepEqual(copyAborted(r), want, name);
  }
  assert.equal(l1.dev.log.filter((e) => e.op === 'write').length, 1, 'only the first segment of the last case wrote');
});

test('descriptor-format sense forwards the copy target status and sense (D_SENSE=1)', async () => {
  const { l0, l1, a } = await twoLuns();
  const u = unitState(l0.unit);
  u.mode = { ...u.mode, dSense: true };
  const r = await xcopy(a, encodeCopyParameterList(HOLD, [cscdOf(l1)], [seg(0xffff, 0, 2048, 0, 4095)]));
  const s = r.sense!;
  assert.deepEqual([s[0], s[1], s[2], s[3]], [0x72, 0x0a, 0x00, 0x00]);
  const descriptors = new Map<number, Buffer>();
  for (let p = 8; p < 8 + s[7]; p += 2 + s[p + 1]) descriptors.set(s[p], s.subarray(p, p + 2 + s[p + 1]));
  assert.equal(descriptors.get(0x01)!.readUInt32BE(8), 0); // COMMAND-SPECIFIC INFORMATION: segment 0
  assert.deepEqual([...descriptors.get(0x02)!.subarray(4, 7)], [0xa0, 0, 20]); // SKSV, SD, byte 20
  const fwd = descriptors.get(0x0c)!;
  assert.equal(fwd[2], 0x02); // SENSE DATA SOURCE: destination
  assert.equal(fwd[3], 0x02); // CHECK CONDITION
  assert.deepEqual([fwd[4], fwd[5], fwd[6], fwd[7]], [0x72, 0x05, 0x21, 0x00]); // ILLEGAL REQUEST, LBA OUT OF RANGE
});

test('copy target refusals: write protection, reservation conflict, medium error, no medium are forwarded as 0D/01', async () => {
  {
    const { l0, l1, a } = await twoLuns({ writeProtect1: true });
    fill(l0.dev, 0, 8, 1);
    const r = await xcopy(a, encodeCopyParameterList(HOLD, [cscdOf(l1)], [seg(0xffff, 0, 8, 0, 0)]));
    assert.deepEqual(copyAborted(r), { key: 0x0a, asc: 0x0d, ascq: 0x01, segment: 0, sd: true, pointer: 6 });
    assert.equal(l1.dev.log.length, 0);
    // Reading from a write-protected LU is fine.
    assert.equal((await xcopy(a, encodeCopyParameterList(HOLD, [cscdOf(l1)], [seg(0, 0xffff, 8, 0, 0)]))).status, 0);
  }
  {
    const { l1, a, open } = await twoLuns();
    const b = await open('b');
    assert.equal((await run(b, [0x16, 0, 0, 0, 0, 0], { lun: 1 })).status, 0); // RESERVE(6) of LUN 1 by b
    const r = await xcopy(a, encodeCopyParameterList(HOLD, [cscdOf(l1)], [seg(0xffff, 0, 8, 0, 0)]));
    assert.deepEqual(copyAborted(r), { key: 0x0a, asc: 0x0d, ascq: 0x01, segment: 0, sd: true, pointer: 6 });
    const rs = await xcopy(a, encodeCopyParameterList(HOLD, [cscdOf(l1)], [seg(0, 0xffff, 8, 0, 0)]));
    assert.equal(copyAborted(rs).pointer, 4, 'a reserved source conflicts too (SPC-2 reservations)');
    // The holder itself may copy.
    assert.equal((await xcopy(b, encodeCopyParameterList(HOLD, [cscdOf(l1)], [seg(0xffff, 0, 8, 0, 0)]))).status, 0);
  }
  {
    const { l0, l1, a } = await twoLuns();
    l0.dev.failNext = { op: 'read', error: ioError('read', 3) };
    const u = unitState(l0.unit);
    u.mode = { ...u.mode, dSense: true };
    const r = await xcopy(a, encodeCopyParameterList(HOLD, [cscdOf(l1)], [seg(0xffff, 0, 8, 0, 0)]));
    const s = r.sense!;
    assert.deepEqual([s[1], s[2], s[3]], [0x0a, 0x0d, 0x01]);
    const at = s.indexOf(0x0c, 8);
    assert.deepEqual([s[at + 2], s[at + 3], s[at + 5], s[at + 6]], [0x01, 0x02, 0x03, 0x11]); // source, CHECK CONDITION, MEDIUM ERROR 11h
  }
  {
    const { l0, l1, a } = await twoLuns();
    unitState(l1.unit).mediumPresent = false; // an ejected removable medium on the destination
    const u = unitState(l0.unit);
    u.mode = { ...u.mode, dSense: true };
    const r = await xcopy(a, encodeCopyParameterList(HOLD, [cscdOf(l1)], [seg(0xffff, 0, 8, 0, 0)]));
    const s = r.sense!;
    assert.deepEqual([s[1], s[2], s[3]], [0x0a, 0x0d, 0x01]);
    const at = s.indexOf(0x0c, 8);
    assert.deepEqual([s[at + 2], s[at + 3], s[at + 5], s[at + 6]], [0x02, 0x02, 0x02, 0x3a]); // destination, NOT READY, MEDIUM NOT PRESENT
    assert.equal(l1.dev.log.length, 0);
  }
});

test('parameter list length 0 is GOOD; too long is refused before any Data-Out; LID4 is not supported', async () => {
  const { a } = await twoLuns();
  assert.equal((await run(a, xcopyCdb(0), { edtl: 0, direction: 'none' })).status, 0);
  const req = request(xcopyCdb(100000), { edtl: 100000, direction: 'write', data: Buffer.alloc(100000) });
  const r = await a.execute(req).outcome;
  assert.notEqual(r, ABORTED);
  assert.deepEqual([sense(r as ScsiResult).key, sense(r as ScsiResult).asc], [5, 0x1a]);
  assert.deepEqual(req.received, []);
  const lid4 = await run(a, xcopyCdb(16, 1), { data: Buffer.alloc(16), direction: 'write' });
  assert.deepEqual([sense(lid4).key, sense(lid4).asc], [5, 0x24]);
  // Header-level errors are ILLEGAL REQUEST with a field pointer into the parameter list.
  const bad = encodeCopyParameterList(HOLD, [], []);
  bad[1] = 0x08;
  const s = sense(await xcopy(a, bad));
  assert.deepEqual([s.key, s.asc, s.ascq, s.sks?.[0], s.sks?.readUInt16BE(1)], [5, 0x26, 0x00, 0x8c, 1]);
});

/** A device wrapper whose first write waits for `gate`. */
function holdFirstWrite(dev: MemoryDevice) {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const write = dev.write.bind(dev);
  let first = true;
  let entered!: () => void;
  const writing = new Promise<void>((r) => (entered = r));
  dev.write = async (lba, data, o) => {
    if (first) {
      first = false;
      entered();
      await gate;
    }
    return write(lba, data, o);
  };
  return { open, writing };
}

test('commands arriving during a chunk that overlap it wait for it (task set ordering)', async () => {
  const { l0, l1, a } = await twoLuns();
  fill(l0.dev, 0, 8, 2);
  const hold = holdFirstWrite(l1.dev);
  const copy = xcopy(a, encodeCopyParameterList(HOLD, [cscdOf(l1)], [seg(0xffff, 0, 8, 0, 0)]));
  await hold.writing;
  // WRITE(10) of LUN 1 block 4 with 0xEE: must land after the copy's chunk, not under it.
  const w = run(a, [0x2a, 0, 0, 0, 0, 4, 0, 0, 1, 0], { lun: 1, data: Buffer.alloc(512, 0xee), edtl: 512, direction: 'write' });
  await new Promise((r) => setImmediate(r));
  hold.open();
  assert.equal((await copy).status, 0);
  assert.equal((await w).status, 0);
  assert.ok(blocksOf(l1.dev, 4, 1).equals(Buffer.alloc(512, 0xee)));
  assert.ok(blocksOf(l1.dev, 0, 4).equals(blocksOf(l0.dev, 0, 4)));
});

test('ABORT TASK of the EXTENDED COPY stops it; a reset of a copy target aborts the copy with 0D/01', async () => {
  {
    const { l1, a } = await twoLuns();
    const hold = holdFirstWrite(l1.dev);
    const task = a.execute(
      request(xcopyCdb(16 + 32 + 28), { tag: 42, direction: 'write', data: encodeCopyParameterList(HOLD, [cscdOf(l1)], [seg(0xffff, 0, 3000, 0, 0)]) }),
    );
    await hold.writing;
    const tmf = a.taskManagement({ function: 'abort-task', lun: encodeLun(0), referencedTag: 42 });
    hold.open();
    assert.equal(await tmf, 'function-complete');
    assert.equal(await task.outcome, ABORTED);
    assert.equal(l1.dev.log.filter((e) => e.op === 'write').length, 1, 'no chunk after the abort');
  }
  {
    const { l1, a, open } = await twoLuns();
    const b = await open('b');
    const hold = holdFirstWrite(l1.dev);
    const copy = xcopy(a, encodeCopyParameterList(HOLD, [cscdOf(l1)], [seg(0xffff, 0, 8, 0, 0)]));
    await hold.writing;
    const reset = b.taskManagement({ function: 'logical-unit-reset', lun: encodeLun(1) });
    hold.open();
    assert.equal(await reset, 'function-complete');
    const r = await copy;
    assert.deepEqual([copyAborted(r).key, copyAborted(r).asc, copyAborted(r).ascq], [0x0a, 0x0d, 0x01]);
  }
});

test('a list identifier in use by a running copy of the same nexus: OPERATION IN PROGRESS', async () => {
  const { l1, a, open } = await twoLuns();
  const b = await open('b');
  const hold = holdFirstWrite(l1.dev);
  const list = encodeCopyParameterList(HOLD, [cscdOf(l1)], [seg(0xffff, 0, 8, 0, 0)]);
  const first = xcopy(a, list);
  await hold.writing;
  const s = sense(await xcopy(a, list));
  assert.deepEqual([s.key, s.asc, s.ascq], [5, 0x00, 0x16]);
  // Another nexus has its own list identifiers; LIST ID USAGE 11b has none to collide.
  const other = xcopy(b, list);
  const none = xcopy(a, encodeCopyParameterList({ ...HOLD, listId: 0, listIdUsage: 'none' }, [cscdOf(l1)], [seg(0xffff, 0, 8, 0, 0)]));
  hold.open();
  assert.equal((await first).status, 0);
  assert.equal((await other).status, 0);
  assert.equal((await none).status, 0);
});
