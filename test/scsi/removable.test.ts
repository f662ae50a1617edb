// Removable-medium LUs: INQUIRY RMB, START STOP UNIT load/eject, PREVENT
// ALLOW MEDIUM REMOVAL per I_T nexus, NOT READY / MEDIUM NOT PRESENT while
// ejected, the 28/00 unit attention on load (SBC-3 §5.13, §5.25; SPC-4 §6.39).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LunMapping } from '../../src/scsi/api.js';
import { createLogicalUnit } from '../../src/scsi/logical-unit.js';
import { openNexus, type TargetScope } from '../../src/scsi/nexus.js';
import { cdb10, cdb16, clearUnitAttentions, makeNexus, makeView, run, sense, WWN } from './harness.js';
import { memoryDevice } from './memory-device.js';
import { validateConfig } from '../../src/config/validate.js';
import { storageRemovable, storageSanitizeBytesPerSecond } from '../../src/config/medium.js';

const TUR = [0x00, 0, 0, 0, 0, 0];
const INQUIRY = [0x12, 0, 0, 0, 96, 0];
const REQUEST_SENSE = [0x03, 0, 0, 0, 252, 0];
const REPORT_LUNS = [0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
const READ_CAPACITY_10 = [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const MODE_SENSE_6 = [0x1a, 0, 0x3f, 0, 255, 0];
const prevent = (on: boolean) => [0x1e, 0, 0, 0, on ? 1 : 0, 0];
/** START STOP UNIT: byte 1 IMMED, byte 4 POWER CONDITION << 4 | NO_FLUSH << 2 | LOEJ << 1 | START. */
const ssu = (o: { loej?: boolean; start?: boolean; immed?: boolean; pc?: number; noFlush?: boolean }) => [
  0x1b,
  o.immed ? 1 : 0,
  0,
  0,
  ((o.pc ?? 0) << 4) | (o.noFlush ? 4 : 0) | (o.loej ? 2 : 0) | (o.start ? 1 : 0),
  0,
];
const EJECT = ssu({ loej: true, start: false });
const LOAD = ssu({ loej: true, start: true });

function removableFixture(removable = true) {
  const dev = memoryDevice({ blockCount: 64 });
  const unit = createLogicalUnit({ device: dev, name: 'rm0', wwn: WWN, vendor: 'TSGT', product: 'memdisk', revision: '0.1', removable });
  const mapping: LunMapping = { lun: 0, unit, writeProtect: false };
  const view = makeView([mapping]);
  const scope: TargetScope = { units: () => [unit] };
  return { dev, unit, open: (id: string) => openNexus(makeNexus(id), view, scope) };
}

function assertSense(r: { status: number; sense?: Buffer }, key: number, asc: number, ascq: number, what: string): void {
  assert.equal(r.status, 0x02, `${what}: status`);
  const s = sense(r as never);
  assert.deepEqual([s.key, s.asc, s.ascq], [key, asc, ascq], `${what}: sense`);
}

test('INQUIRY reports RMB=1 only for a removable LU', async () => {
  const rm = removableFixture(true).open('a');
  const fixed = removableFixture(false).open('b');
  assert.equal((await run(rm, INQUIRY)).data![1] & 0x80, 0x80);
  assert.equal((await run(fixed, INQUIRY)).data![1] & 0x80, 0);
});

test('eject: medium access gets NOT READY, MEDIUM NOT PRESENT; non-medium commands still work; load brings it back', async () => {
  const f = removableFixture();
  const a = f.open('a');
  f.dev.bytes.fill(0x5a, 0, 512);
  const flushesBefore = f.dev.flushes;
  assert.equal((await run(a, ssu({ loej: true, start: false, immed: true }))).status, 0);
  assert.equal(f.dev.flushes, flushesBefore + 1, 'the write cache is written back before the medium goes');
  assert.equal(f.unit.mediumPresent, false);

  assertSense(await run(a, TUR), 0x2, 0x3a, 0x00, 'TEST UNIT READY');
  assertSense(await run(a, cdb10(0x28, 0, 1), { edtl: 512 }), 0x2, 0x3a, 0x00, 'READ (10)');
  assertSense(await run(a, cdb10(0x2a, 0, 1), { data: Buffer.alloc(512, 1) }), 0x2, 0x3a, 0x00, 'WRITE (10)');
  assertSense(await run(a, READ_CAPACITY_10, { edtl: 8 }), 0x2, 0x3a, 0x00, 'READ CAPACITY (10)');
  assertSense(await run(a, cdb16(0x9e, 0n, 32, 0x10), { edtl: 32 }), 0x2, 0x3a, 0x00, 'READ CAPACITY (16)');
  assertSense(await run(a, [0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 0x2, 0x3a, 0x00, 'SYNCHRONIZE CACHE (10)');
  assert.equal(f.dev.bytes[0], 0x5a, 'nothing was written while ejected');

  assert.equal((await run(a, INQUIRY)).status, 0);
  assert.equal((await run(a, REPORT_LUNS, { edtl: 256 })).status, 0);
  assert.equal((await run(a, MODE_SENSE_6, { edtl: 255 })).status, 0);
  const rs = await run(a, REQUEST_SENSE, { edtl: 252 });
  assert.equal(rs.status, 0, 'REQUEST SENSE completes with GOOD and reports the condition as data');
  assert.deepEqual([rs.data![2] & 0x0f, rs.data![12], rs.data![13]], [0x2, 0x3a, 0x00]);
  assert.equal((await run(a, EJECT)).status, 0, 'ejecting an ejected medium is GOOD');

  assert.equal((await run(a, LOAD)).status, 0);
  assert.equal(f.unit.mediumPresent, true);
  assert.equal((await run(a, TUR)).status, 0, 'the nexus that loaded the medium gets no unit attention');
  assert.equal((await run(a, cdb10(0x28, 0, 1), { edtl: 512 })).data![0], 0x5a);
});

test('loading raises NOT READY TO READY CHANGE (28/00) for the other nexuses, once', async () => {
  const f = removableFixture();
  const a = f.open('a');
  const b = f.open('b');
  assert.equal((await run(b, TUR)).status, 0);
  assert.equal((await run(a, EJECT)).status, 0);
  assertSense(await run(b, TUR), 0x2, 0x3a, 0x00, 'other nexus sees the medium gone');
  assert.equal((await run(a, LOAD)).status, 0);
  assertSense(await run(b, TUR), 0x6, 0x28, 0x00, 'other nexus: unit attention');
  assert.equal((await run(b, TUR)).status, 0);
  assert.equal((await run(a, LOAD)).status, 0, 'loading a loaded medium');
  assert.equal((await run(b, TUR)).status, 0, 'no new unit attention when nothing changed');
});

test('LOEJ=0 and POWER CONDITION != 0 leave the medium alone', async () => {
  const f = removableFixture();
  const a = f.open('a');
  for (const start of [false, true]) {
    for (const immed of [false, true]) {
      for (const noFlush of [false, true]) {
        assert.equal((await run(a, ssu({ loej: false, start, immed, noFlush }))).status, 0);
        assert.equal((await run(a, TUR)).status, 0, `LOEJ=0 START=${start} IMMED=${immed} NO_FLUSH=${noFlush}`);
      }
    }
  }
  for (let pc = 1; pc < 16; pc++) {
    assert.equal((await run(a, ssu({ loej: true, start: false, pc }))).status, 0);
    assert.equal((await run(a, TUR)).status, 0, `POWER CONDITION ${pc} ignores LOEJ`);
  }
});

test('PREVENT refuses eject and load with MEDIUM REMOVAL PREVENTED until every nexus allows', async () => {
  const f = removableFixture();
  const a = f.open('a');
  const b = f.open('b');
  assert.equal((await run(a, prevent(true))).status, 0);
  assert.equal((await run(b, prevent(true))).status, 0);
  assertSense(await run(a, EJECT), 0x5, 0x53, 0x02, 'eject while prevented');
  assertSense(await run(b, EJECT), 0x5, 0x53, 0x02, 'eject from another nexus while prevented');
  assert.equal((await run(a, TUR)).status, 0, 'still mounted');
  assert.equal((await run(a, prevent(false))).status, 0);
  assertSense(await run(a, EJECT), 0x5, 0x53, 0x02, 'b still prevents');
  assert.equal((await run(b, prevent(false))).status, 0);
  assert.equal((await run(a, EJECT)).status, 0);
  assert.equal((await run(a, prevent(true))).status, 0);
  assertSense(await run(a, LOAD), 0x5, 0x53, 0x02, 'load while prevented (libiscsi PreventAllow.Eject)');
  assert.equal((await run(a, prevent(false))).status, 0);
  assert.equal((await run(a, LOAD)).status, 0);
});

test('I_T nexus loss drops that nexus prevention; LU reset and target reset drop all of them', async () => {
  const f = removableFixture();
  const a = f.open('a');
  let b = f.open('b');
  assert.equal((await run(b, prevent(true))).status, 0);
  assertSense(await run(a, EJECT), 0x5, 0x53, 0x02, 'prevented by b');
  b.close();
  assert.equal((await run(a, EJECT)).status, 0, 'b is gone, so is its prevention');
  assert.equal((await run(a, LOAD)).status, 0);

  b = f.open('b2');
  for (const fn of ['logical-unit-reset', 'target-warm-reset', 'target-cold-reset'] as const) {
    assert.equal((await run(a, prevent(true))).status, 0);
    assert.equal((await run(b, prevent(true))).status, 0);
    assert.equal(await a.taskManagement({ function: fn, lun: Buffer.alloc(8) }), 'function-complete');
    await clearUnitAttentions(a);
    assert.equal((await run(a, EJECT)).status, 0, `${fn} clears every prevention`);
    assertSense(await run(a, TUR), 0x2, 0x3a, 0x00, `${fn}: ejected`);
    assert.equal((await run(a, LOAD)).status, 0);
    await clearUnitAttentions(b);
  }
});

test('a reset does not load an ejected medium', async () => {
  const f = removableFixture();
  const a = f.open('a');
  assert.equal((await run(a, EJECT)).status, 0);
  assert.equal(await a.taskManagement({ function: 'logical-unit-reset', lun: Buffer.alloc(8) }), 'function-complete');
  assertSense(await run(a, TUR), 0x6, 0x29, 0x03, 'reset unit attention first');
  assertSense(await run(a, TUR), 0x2, 0x3a, 0x00, 'still ejected');
});

test('a fixed-medium LU accepts LOEJ without effect, refusing only eject while prevented', async () => {
  const f = removableFixture(false);
  const a = f.open('a');
  assert.equal((await run(a, EJECT)).status, 0);
  assert.equal((await run(a, TUR)).status, 0, 'nothing was ejected');
  assert.equal((await run(a, prevent(true))).status, 0);
  assertSense(await run(a, EJECT), 0x5, 0x53, 0x02, 'eject while prevented');
  assert.equal((await run(a, LOAD)).status, 0);
  assert.equal((await run(a, prevent(false))).status, 0);
});

test('config: attributes.removable and sanitize_mib_per_sec are validated and resolved', () => {
  const config = (attributes: Record<string, number | string>) => ({
    storage_objects: [{ plugin: 'fileio', name: 'd0', dev: '/srv/d0.img', size: 1048576, wwn: '11111111-2222-4333-8444-555555555555', attributes }],
    targets: [],
    fabric_modules: [],
  });
  const ok = validateConfig(config({ removable: 1, sanitize_mib_per_sec: 10 }));
  assert.ok(ok.ok, JSON.stringify(ok));
  const so = ok.config.storage_objects[0];
  assert.equal(storageRemovable(so), true);
  assert.equal(storageSanitizeBytesPerSecond(so), 10 * 1024 * 1024);
  assert.equal(storageRemovable({ attributes: { removable: 0 } }), false);
  assert.equal(storageRemovable({}), false);
  assert.equal(storageSanitizeBytesPerSecond({ attributes: { sanitize_mib_per_sec: 0 } }), undefined);
  const bads: Record<string, number | string>[] = [{ removable: 2 }, { removable: 'yes' }, { sanitize_mib_per_sec: -1 }];
  for (const bad of bads) {
    const r = validateConfig(config(bad));
    assert.equal(r.ok, false, JSON.stringify(bad));
    if (!r.ok) assert.ok(r.errors.some((e) => e.path.endsWith(Object.keys(bad)[0])), JSON.stringify(r.errors));
  }
});
