import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskManagementFunction } from '../../src/scsi/api.js';
import { encodeLun } from '../../src/scsi/lun-address.js';
import { SUPPORTED_TASK_MANAGEMENT_FUNCTIONS, supportedTmfData } from '../../src/scsi/spc/report-supported-tmf.js';
import { clearUnitAttentions, fixture, run, sense } from './harness.js';

function rstmf(repd: boolean, allocationLength: number): number[] {
  return [0xa3, 0x0d, repd ? 0x80 : 0, 0, 0, 0, (allocationLength >>> 24) & 0xff, (allocationLength >>> 16) & 0xff, (allocationLength >>> 8) & 0xff, allocationLength & 0xff, 0, 0];
}

const ALL: readonly TaskManagementFunction[] = [
  'abort-task',
  'abort-task-set',
  'clear-aca',
  'clear-task-set',
  'logical-unit-reset',
  'target-warm-reset',
  'target-cold-reset',
];

test('REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS: ATS ATSS CTSS LURS TRS, nothing else', async () => {
  const f = fixture();
  const a = f.open('a');
  await clearUnitAttentions(a);
  const r = await run(a, rstmf(false, 4), { edtl: 4 });
  assert.equal(r.status, 0);
  assert.deepEqual([...r.data!], [0x80 | 0x40 | 0x10 | 0x08 | 0x02, 0x00, 0x00, 0x00]);
});

test('REPD=1 returns the 16-byte extended format with ADDITIONAL DATA LENGTH 0Ch and no TMF timeouts', async () => {
  const f = fixture();
  const a = f.open('a');
  await clearUnitAttentions(a);
  const d = (await run(a, rstmf(true, 64), { edtl: 64 })).data!;
  assert.equal(d.length, 16);
  assert.equal(d[0], 0xda);
  assert.equal(d[3], 0x0c);
  assert.ok(d.subarray(4).equals(Buffer.alloc(12)));
  // ALLOCATION LENGTH truncates; below 4 is an error.
  assert.equal((await run(a, rstmf(true, 6), { edtl: 6 })).data!.length, 6);
  const s = sense(await run(a, rstmf(false, 3), { edtl: 3 }));
  assert.deepEqual([s.key, s.asc, s.sks?.readUInt16BE(1)], [5, 0x24, 6]);
});

test('the reported set is exactly what taskManagement() performs', async () => {
  for (const fn of ALL) {
    const f = fixture();
    const a = f.open('a');
    await clearUnitAttentions(a);
    const result = await a.taskManagement({ function: fn, lun: encodeLun(0), referencedTag: 1 });
    const supported = result !== 'function-not-supported';
    assert.equal(SUPPORTED_TASK_MANAGEMENT_FUNCTIONS.includes(fn), supported, fn);
    assert.equal((supportedTmfData([fn], false)[0] & supportedTmfData(SUPPORTED_TASK_MANAGEMENT_FUNCTIONS, false)[0]) !== 0, supported, fn);
  }
});

test('it is listed by REPORT SUPPORTED OPERATION CODES as MAINTENANCE IN / 0Dh', async () => {
  const f = fixture();
  const a = f.open('a');
  await clearUnitAttentions(a);
  const one = (await run(a, [0xa3, 0x0c, 0x02, 0xa3, 0, 0x0d, 0, 0, 0xff, 0xff, 0, 0], { edtl: 65535 })).data!;
  assert.deepEqual([one[1] & 0x07, one.readUInt16BE(2), one[4], one[5]], [0x03, 12, 0xa3, 0x1f]);
});
