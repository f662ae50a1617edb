import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, clearUnitAttentions, run, sense } from './harness.js';
import { defaultCommandTable } from '../../src/scsi/command-table.js';
import { unitState } from '../../src/scsi/logical-unit.js';

async function ready() {
  const f = fixture();
  const a = f.open('a');
  const b = f.open('b');
  await clearUnitAttentions(a);
  await clearUnitAttentions(b);
  return { f, a, b };
}

const rsoc = (options: number, opcode: number, sa: number, rctd = false) => [0xa3, 0x0c, (rctd ? 0x80 : 0) | options, opcode, sa >> 8, sa & 0xff, 0, 0, 0xff, 0xff, 0, 0];

test('RESERVE(6)/RELEASE(6) across two nexuses (libiscsi test_reserve6_2initiators)', async () => {
  const { a, b } = await ready();
  assert.equal((await run(a, [0x16, 0, 0, 0, 0, 0])).status, 0);
  assert.equal((await run(a, [0x16, 0, 0, 0, 0, 0])).status, 0);
  assert.equal((await run(b, [0x16, 0, 0, 0, 0, 0])).status, 0x18);
  assert.equal((await run(b, [0x17, 0, 0, 0, 0, 0])).status, 0);
  assert.equal((await run(a, [0x1a, 0, 0x3f, 0, 255, 0], { edtl: 255 })).status, 0);
  assert.equal((await run(b, [0x1a, 0, 0x3f, 0, 255, 0], { edtl: 255 })).status, 0x18);
  assert.equal((await run(b, [0x12, 0, 0, 0, 36, 0], { edtl: 36 })).status, 0);
  assert.equal((await run(b, [0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0])).status, 0);
  assert.equal((await run(a, [0x17, 0, 0, 0, 0, 0])).status, 0);
  assert.equal((await run(b, [0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0])).status, 0);
  assert.equal((await run(a, [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], { edtl: 512 })).status, 0x18);
  assert.equal((await run(b, [0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0])).status, 0);
  assert.equal(sense(await run(a, [0x56, 0x10, 0, 0, 0, 0, 0, 0, 0, 0])).asc, 0x24);
});

test('START STOP UNIT and PREVENT ALLOW on a non-removable LU', async () => {
  const { a } = await ready();
  assert.equal((await run(a, [0x1b, 1, 0, 0, 0x01, 0])).status, 0);
  assert.equal((await run(a, [0x1b, 0, 0, 0, 0x00, 0])).status, 0);
  assert.equal((await run(a, [0, 0, 0, 0, 0, 0])).status, 0);
  assert.equal((await run(a, [0x1e, 0, 0, 0, 1, 0])).status, 0);
  const r = await run(a, [0x1b, 0, 0, 0, 0x02, 0]);
  assert.deepEqual([sense(r).key, sense(r).asc, sense(r).ascq], [5, 0x53, 0x02]);
  assert.equal((await run(a, [0x1e, 0, 0, 0, 0, 0])).status, 0);
  assert.equal((await run(a, [0x1b, 0, 0, 0, 0x02, 0])).status, 0);
  assert.equal(sense(await run(a, [0x1e, 0, 0, 0, 2, 0])).asc, 0x24);
});

test('REPORT SUPPORTED OPERATION CODES: all, one command, service actions, RCTD', async () => {
  const { a, f } = await ready();
  const table = defaultCommandTable();
  const all = (await run(a, rsoc(0, 0, 0), { edtl: 65535 })).data!;
  const len = all.readUInt32BE(0);
  assert.equal(len, all.length - 4);
  // Commands that depend on an LU capability (CommandSpec.available) are listed only where offered.
  const offered = table.all.filter((s) => s.available === undefined || s.available(unitState(f.unit)));
  assert.ok(offered.length < table.all.length, 'a fully provisioned LU lacks some commands (UNMAP, SANITIZE BLOCK ERASE)');
  assert.equal(len, 8 * offered.length);
  const descriptors: { opcode: number; sa: number; servactv: boolean; cdbLength: number }[] = [];
  for (let p = 4; p < all.length; p += 8) {
    descriptors.push({ opcode: all[p], sa: all.readUInt16BE(p + 2), servactv: (all[p + 5] & 1) === 1, cdbLength: all.readUInt16BE(p + 6) });
    assert.equal(all[p + 5] & 0x02, 0);
  }
  for (const d of descriptors) {
    if (!d.servactv) assert.equal(d.sa, 0);
    const one = await run(a, rsoc(d.servactv ? 2 : 1, d.opcode, d.sa), { edtl: 65535 });
    assert.equal(one.status, 0, `opcode ${d.opcode}`);
    assert.equal(one.data![1] & 0x07, 0x03);
    assert.equal(one.data!.readUInt16BE(2), d.cdbLength);
    assert.equal(one.data![4], d.opcode);
    const wrong = await run(a, rsoc(d.servactv ? 1 : 2, d.opcode, d.sa), { edtl: 65535 });
    assert.equal(sense(wrong).asc, 0x24);
  }
  const withTimeouts = (await run(a, rsoc(0, 0, 0, true), { edtl: 65535 })).data!;
  assert.equal(withTimeouts.readUInt32BE(0), 20 * offered.length);
  assert.equal(withTimeouts[4 + 5] & 0x02, 0x02);
  assert.equal(withTimeouts.readUInt16BE(4 + 8), 0x0a);
  // READ(10) usage data advertises DPO/FUA; an unsupported opcode reports SUPPORT 001b.
  const r10 = (await run(a, rsoc(1, 0x28, 0), { edtl: 65535 })).data!;
  assert.equal(r10[5] & 0x18, 0x18);
  const none = (await run(a, rsoc(1, 0xc0, 0), { edtl: 65535 })).data!;
  assert.equal(none[1] & 0x07, 0x01);
});

test('REPORT TARGET PORT GROUPS: one active/optimized group with the nexus port', async () => {
  const { a } = await ready();
  const r = await run(a, [0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], { edtl: 256 });
  const d = r.data!;
  assert.equal(d.readUInt32BE(0), d.length - 4);
  assert.equal(d[4] & 0x0f, 0);
  assert.equal(d.readUInt16BE(6), 1);
  assert.equal(d[11], 1);
  assert.equal(d.readUInt16BE(14), 1);
  const four = await run(a, [0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0], { edtl: 4 });
  assert.equal(four.data!.readUInt32BE(0), 12);
  const ext = (await run(a, [0xa3, 0x2a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], { edtl: 256 })).data!;
  assert.equal(ext[4], 0x10);
  assert.equal(ext.readUInt32BE(0), ext.length - 4);
});
