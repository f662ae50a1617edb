import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ScsiNexusHandle, ScsiResult } from '../../src/scsi/api.js';
import { unitState } from '../../src/scsi/logical-unit.js';
import { openNexus } from '../../src/scsi/nexus.js';
import { copyStatusData, failedSegmentDetailsData, operatingParameters } from '../../src/scsi/spc/receive-copy-results.js';
import { COPY_LIMITS } from '../../src/scsi/xcopy/limits.js';
import { encodeCopyParameterList, type CopyListHeader, type CscdSpec } from '../../src/scsi/xcopy/parameter-list.js';
import type { CopyRecord } from '../../src/scsi/xcopy/copy-manager.js';
import { clearUnitAttentions, makeNexus, makeUnit, makeView, run, sense } from './harness.js';
import { memoryDevice } from './memory-device.js';

async function setup() {
  const dev = memoryDevice({ blockCount: 4096 });
  const unit = makeUnit(dev);
  const view = makeView([{ lun: 0, unit, writeProtect: false }]);
  const scope = { units: () => [unit] };
  const open = async (id: string) => {
    const n = openNexus(makeNexus(id), view, scope);
    await clearUnitAttentions(n);
    return n;
  };
  const self: CscdSpec = { peripheralDeviceType: 0, designator: { codeSet: 1, association: 0, type: 3, value: unitState(unit).naa }, blockLength: 512 };
  return { dev, unit, open, self, a: await open('a') };
}

function rcr(serviceAction: number, listId: number, allocationLength = 1024): Buffer {
  const c = Buffer.alloc(16);
  c[0] = 0x84;
  c[1] = serviceAction;
  c[2] = listId;
  c.writeUInt32BE(allocationLength, 10);
  return c;
}

function xcopy(n: ScsiNexusHandle, list: Buffer): Promise<ScsiResult> {
  const c = Buffer.alloc(16);
  c[0] = 0x83;
  c.writeUInt32BE(list.length, 10);
  return run(n, c, { data: list, edtl: list.length, direction: 'write' });
}

const hold = (listId: number): CopyListHeader => ({ listId, str: false, listIdUsage: 'hold', priority: 0 });
const segment = (blocks: number, destinationLba: number) => ({ destinationCount: false, source: 0, destination: 0, blocks, sourceLba: 0, destinationLba });

test('OPERATING PARAMETERS (libiscsi OpParams): limits, SNLID, implemented descriptor codes', async () => {
  const { a } = await setup();
  const r = await run(a, rcr(0x03, 0), { edtl: 1024 });
  const d = r.data!;
  assert.equal(r.status, 0);
  assert.equal(d.readUInt32BE(0), d.length - 4);
  assert.ok(d.length >= 44);
  assert.equal(d[4] & 0x01, 1);
  assert.equal(d.readUInt16BE(8), COPY_LIMITS.maxCscdDescriptors);
  assert.equal(d.readUInt16BE(10), COPY_LIMITS.maxSegmentDescriptors);
  assert.equal(d.readUInt32BE(12), COPY_LIMITS.maxDescriptorListLength);
  assert.equal(d.readUInt32BE(16), COPY_LIMITS.maxSegmentLength);
  assert.equal(d.readUInt32BE(20), 0);
  assert.equal(d[37], 9); // 512-byte blocks
  assert.deepEqual([...d.subarray(44, 44 + d[43])], [0x02, 0xe4]);
  // ALLOCATION LENGTH truncates.
  assert.equal((await run(a, rcr(0x03, 0, 10), { edtl: 10 })).data!.length, 10);
  assert.equal(operatingParameters(4096).length, 46);
  assert.equal(operatingParameters(4096)[37], 12);
});

test('COPY STATUS (libiscsi CopyStatus): unknown list id, then a finished copy, reported once', async () => {
  const { a, self } = await setup();
  const none = sense(await run(a, rcr(0x00, 1), { edtl: 1024 }));
  assert.deepEqual([none.key, none.asc, none.sks?.readUInt16BE(1)], [5, 0x24, 2]);
  assert.equal((await xcopy(a, encodeCopyParameterList(hold(1), [self], [segment(2048, 2048)]))).status, 0);
  const r = await run(a, rcr(0x00, 1), { edtl: 1024 });
  assert.equal(r.status, 0);
  const d = r.data!;
  assert.equal(d.readUInt32BE(0), 8);
  assert.equal(d[4], 0x01); // completed, no errors
  assert.equal(d.readUInt16BE(5), 1); // segments processed
  assert.equal(d[7], 0x00); // bytes
  assert.equal(d.readUInt32BE(8), 2048 * 512);
  // Returned in full: discarded.
  assert.equal(sense(await run(a, rcr(0x00, 1), { edtl: 1024 })).asc, 0x24);
});

test('COPY STATUS truncated by ALLOCATION LENGTH keeps the status; other nexuses cannot see it', async () => {
  const { a, self, open } = await setup();
  const b = await open('b');
  assert.equal((await xcopy(a, encodeCopyParameterList(hold(5), [self], [segment(8, 100)]))).status, 0);
  assert.equal(sense(await run(b, rcr(0x00, 5), { edtl: 1024 })).asc, 0x24);
  assert.equal((await run(a, rcr(0x00, 5, 4), { edtl: 4 })).data!.length, 4);
  assert.equal((await run(a, rcr(0x00, 5), { edtl: 1024 })).status, 0);
});

test('LIST ID USAGE 10b and 11b hold nothing once the copy ends', async () => {
  const { a, self } = await setup();
  for (const h of [{ ...hold(3), listIdUsage: 'discard' as const }, { ...hold(0), listIdUsage: 'none' as const }]) {
    assert.equal((await xcopy(a, encodeCopyParameterList(h, [self], [segment(8, 100)]))).status, 0);
    assert.equal(sense(await run(a, rcr(0x00, h.listId), { edtl: 1024 })).asc, 0x24);
    assert.equal(sense(await run(a, rcr(0x04, h.listId), { edtl: 1024 })).asc, 0x24);
  }
});

test('FAILED SEGMENT DETAILS: the failed command status and sense; COPY STATUS says completed with errors', async () => {
  const { a, self } = await setup();
  const list = encodeCopyParameterList(hold(9), [self], [segment(8, 100), segment(2048, 4095)]);
  const failed = await xcopy(a, list);
  assert.equal(failed.status, 0x02);
  const st = (await run(a, rcr(0x00, 9), { edtl: 1024 })).data!;
  assert.deepEqual([st[4], st.readUInt16BE(5), st.readUInt32BE(8)], [0x02, 1, 8 * 512]);
  const fsd = (await run(a, rcr(0x04, 9), { edtl: 1024 })).data!;
  assert.equal(fsd.readUInt32BE(0), fsd.length - 4);
  assert.equal(fsd[56], 0x02);
  assert.equal(fsd.readUInt16BE(58), failed.sense!.length);
  assert.ok(fsd.subarray(60).equals(failed.sense!));
  // Both parts were returned in full: nothing is held any more.
  assert.equal(sense(await run(a, rcr(0x04, 9), { edtl: 1024 })).asc, 0x24);
  assert.equal(sense(await run(a, rcr(0x00, 9), { edtl: 1024 })).asc, 0x24);
});

test('FAILED SEGMENT DETAILS with ALLOCATION LENGTH 0 discards them; a successful copy has none', async () => {
  const { a, self } = await setup();
  await xcopy(a, encodeCopyParameterList(hold(4), [self], [segment(2048, 4095)]));
  assert.equal((await run(a, rcr(0x04, 4, 0), { edtl: 0 })).status, 0);
  assert.equal((await run(a, rcr(0x00, 4), { edtl: 1024 })).data![4], 0x02);
  assert.equal(sense(await run(a, rcr(0x04, 4), { edtl: 1024 })).asc, 0x24);
  assert.equal((await xcopy(a, encodeCopyParameterList(hold(6), [self], [segment(1, 1)]))).status, 0);
  const none = (await run(a, rcr(0x04, 6), { edtl: 1024 })).data!;
  assert.deepEqual([...none], [0, 0, 0, 0]);
  // Reusing a list identifier discards what the previous copy held.
  await xcopy(a, encodeCopyParameterList(hold(6), [self], [segment(2048, 4095)]));
  assert.equal((await run(a, rcr(0x00, 6), { edtl: 1024 })).data![4], 0x02);
});

test('data builders: running status, byte counts above 4 GiB in MiB, empty failure details', () => {
  const record: CopyRecord = { listId: 1, hold: true, state: 'running', segmentsProcessed: 3, bytesTransferred: 5 * 2 ** 32, statusHeld: false, failure: undefined };
  const d = copyStatusData(record);
  assert.deepEqual([d[4], d.readUInt16BE(5), d[7], d.readUInt32BE(8)], [0x00, 3, 0x02, 5 * 4096]);
  assert.deepEqual([...failedSegmentDetailsData(record)], [0, 0, 0, 0]);
});

test('RECEIVE DATA and the LID4 service actions are INVALID FIELD IN CDB', async () => {
  const { a } = await setup();
  for (const sa of [0x01, 0x05, 0x07]) {
    const s = sense(await run(a, rcr(sa, 0), { edtl: 1024 }));
    assert.deepEqual([s.key, s.asc], [5, 0x24], `SA ${sa}`);
  }
});

test('INQUIRY: 3PC=1, VPD 8Fh listed and describing the LID1 copy manager', async () => {
  const { a } = await setup();
  const std = (await run(a, [0x12, 0, 0, 0, 96, 0], { edtl: 96 })).data!;
  assert.equal(std[5] & 0x08, 0x08);
  const pages = (await run(a, [0x12, 1, 0, 0, 255, 0], { edtl: 255 })).data!;
  assert.ok([...pages.subarray(4)].includes(0x8f));
  const p = (await run(a, [0x12, 1, 0x8f, 1, 0, 0], { edtl: 256 })).data!;
  assert.deepEqual([p[1], p.readUInt16BE(2)], [0x8f, p.length - 4]);
  const descriptors = new Map<number, Buffer>();
  for (let off = 4; off < p.length; off += 4 + p.readUInt16BE(off + 2)) {
    assert.equal(p.readUInt16BE(off + 2) % 4, 0);
    descriptors.set(p.readUInt16BE(off), p.subarray(off + 4, off + 4 + p.readUInt16BE(off + 2)));
  }
  assert.deepEqual([...descriptors.keys()], [0x0001, 0x0004, 0x0008, 0x000c, 0x8001]);
  const sc = descriptors.get(0x0001)!;
  assert.deepEqual([...sc.subarray(1, 1 + sc[0])], [0x83, 1, 0x00, 0x84, 3, 0x00, 0x03, 0x04]);
  const pd = descriptors.get(0x0004)!;
  assert.deepEqual([pd.readUInt16BE(4), pd.readUInt16BE(6), pd.readUInt32BE(8)], [64, 64, 8192]);
  const sd = descriptors.get(0x0008)!;
  assert.deepEqual([...sd.subarray(1, 1 + sd[0])], [0x02, 0xe4]);
  assert.deepEqual([descriptors.get(0x000c)!.readUInt16BE(0), descriptors.get(0x000c)!.readUInt16BE(2)], [2, 0xffff]);
  assert.equal(descriptors.get(0x8001)!.readUInt32BE(8), COPY_LIMITS.maxSegmentLength);
});

test('REPORT SUPPORTED OPERATION CODES lists EXTENDED COPY and RECEIVE COPY RESULTS by service action', async () => {
  const { a } = await setup();
  const all = (await run(a, [0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0], { edtl: 65535 })).data!;
  const listed: string[] = [];
  for (let p = 4; p < all.length; p += 8) if (all[p] === 0x83 || all[p] === 0x84) listed.push(`${all[p].toString(16)}/${all.readUInt16BE(p + 2)}/${all[p + 5] & 1}`);
  assert.deepEqual(listed, ['83/0/1', '84/0/1', '84/3/1', '84/4/1']);
  const one = (await run(a, [0xa3, 0x0c, 0x02, 0x83, 0, 0, 0, 0, 0xff, 0xff, 0, 0], { edtl: 65535 })).data!;
  assert.deepEqual([one[1] & 0x07, one.readUInt16BE(2), one[4]], [0x03, 16, 0x83]);
});

test('held copy results do not survive a LOGICAL UNIT RESET or a TARGET WARM RESET (SAM-5 hard reset)', async () => {
  const { a, self } = await setup();
  const lun0 = Buffer.alloc(8);
  for (const fn of ['logical-unit-reset', 'target-warm-reset'] as const) {
    assert.equal((await xcopy(a, encodeCopyParameterList(hold(9), [self], [segment(8, 100)]))).status, 0);
    assert.equal(await a.taskManagement({ function: fn, lun: lun0 }), 'function-complete');
    await clearUnitAttentions(a);
    assert.equal(sense(await run(a, rcr(0x00, 9), { edtl: 1024 })).asc, 0x24, fn);
    // A copy made after the reset is held as usual.
    assert.equal((await xcopy(a, encodeCopyParameterList(hold(9), [self], [segment(8, 100)]))).status, 0);
    assert.equal((await run(a, rcr(0x00, 9), { edtl: 1024 })).status, 0, fn);
  }
});
