import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, clearUnitAttentions, run, sense, cdb16 } from './harness.js';

async function ready(opts = {}) {
  const f = fixture(opts);
  const a = f.open('a');
  const b = f.open('b');
  await clearUnitAttentions(a);
  await clearUnitAttentions(b);
  return { f, a, b };
}

/** Split MODE SENSE data into pages after header and block descriptors. */
function pages(d: Buffer, ten: boolean): Map<number, Buffer> {
  const hl = ten ? 8 : 4;
  const bdl = ten ? d.readUInt16BE(6) : d[3];
  const out = new Map<number, Buffer>();
  for (let p = hl + bdl; p + 2 <= d.length; p += 2 + d[p + 1]) out.set(d[p] & 0x3f, d.subarray(p, p + 2 + d[p + 1]));
  return out;
}

test('MODE SENSE(6) all pages: header, block descriptor, pages in order', async () => {
  const { a } = await ready({ blockCount: 4096, writeCache: true });
  const r = await run(a, [0x1a, 0, 0x3f, 0, 255, 0], { edtl: 255 });
  const d = r.data!;
  assert.equal(d[0], d.length - 1);
  assert.equal(d[2], 0x10); // DPOFUA, not WP
  assert.equal(d[3], 8);
  assert.equal(d.readUInt32BE(4), 4096);
  assert.equal(d.readUIntBE(9, 3), 512);
  const p = pages(d, false);
  assert.deepEqual([...p.keys()], [0x01, 0x08, 0x0a, 0x1c]);
  assert.equal(p.get(0x08)![2] & 0x04, 0x04); // WCE
  const control = p.get(0x0a)!;
  assert.equal(control.length, 12);
  assert.equal(control[2] & 0x04, 0); // D_SENSE
  assert.equal(control[3] >> 4, 1); // QUEUE ALGORITHM MODIFIER
});

test('MODE SENSE: residual rules, DBD, single page = same bytes as in all pages', async () => {
  const { a } = await ready();
  const short = await run(a, [0x1a, 0, 0x3f, 0, 4, 0], { edtl: 4 });
  assert.equal(short.data!.length, 4);
  assert.equal(short.transferLength, 4);
  const all = (await run(a, [0x1a, 0x08, 0x3f, 0, 255, 0], { edtl: 255 })).data!;
  assert.equal(all[3], 0);
  const one = (await run(a, [0x1a, 0x08, 0x0a, 0, 255, 0], { edtl: 255 })).data!;
  assert.deepEqual(pages(one, false).get(0x0a), pages(all, false).get(0x0a));
  // MODE SENSE(10) with LLBAA: 16-byte block descriptor.
  const ten = (await run(a, [0x5a, 0x10, 0x3f, 0, 0, 0, 0, 1, 0, 0], { edtl: 256 })).data!;
  assert.equal(ten.readUInt16BE(0), ten.length - 2);
  assert.equal(ten[4] & 1, 1);
  assert.equal(ten.readUInt16BE(6), 16);
  assert.equal(Number(ten.readBigUInt64BE(8)), 1024);
  // Errors: saved values, unknown page, unknown subpage.
  assert.deepEqual([sense(await run(a, [0x1a, 0, 0xff, 0, 255, 0])).asc], [0x39]);
  assert.equal(sense(await run(a, [0x1a, 0, 0x02, 0, 255, 0])).asc, 0x24);
  assert.equal(sense(await run(a, [0x1a, 0, 0x0a, 0x01, 255, 0])).asc, 0x24);
  assert.equal((await run(a, [0x1a, 0, 0x3f, 0xff, 255, 0])).status, 0);
  // Changeable values: D_SENSE and SWP.
  const ch = pages((await run(a, [0x1a, 0x08, 0x4a, 0, 255, 0])).data!, false).get(0x0a)!;
  assert.equal(ch[2], 0x04);
  assert.equal(ch[4], 0x08);
});

async function controlPage(a: Parameters<typeof run>[0]): Promise<Buffer> {
  const d = (await run(a, [0x1a, 0x08, 0x0a, 0, 255, 0], { edtl: 255 })).data!;
  return Buffer.from(pages(d, false).get(0x0a)!);
}

function modeSelect6(page: Buffer): { cdb: number[]; data: Buffer } {
  const data = Buffer.concat([Buffer.alloc(4), page]);
  return { cdb: [0x15, 0x10, 0, 0, data.length, 0], data };
}

test('MODE SELECT D_SENSE switches to descriptor sense; others get MODE PARAMETERS CHANGED', async () => {
  const { a, b } = await ready();
  const page = await controlPage(a);
  page[2] |= 0x04;
  const ms = modeSelect6(page);
  assert.equal((await run(a, ms.cdb, { data: ms.data })).status, 0);
  const oob = await run(a, cdb16(0x88, 0xffffffffffffffffn, 1), { edtl: 512 });
  assert.equal(oob.sense![0], 0x72);
  assert.deepEqual([sense(oob).key, sense(oob).asc], [5, 0x21]);
  const ua = await run(b, [0, 0, 0, 0, 0, 0]);
  assert.equal(ua.sense![0], 0x72);
  assert.deepEqual([sense(ua).key, sense(ua).asc, sense(ua).ascq], [6, 0x2a, 0x01]);
  page[2] &= ~0x04;
  const back = modeSelect6(page);
  assert.equal((await run(a, back.cdb, { data: back.data })).status, 0);
  assert.equal((await run(a, cdb16(0x88, 0xffffffffffffffffn, 1), { edtl: 512 })).sense![0], 0x70);
});

test('MODE SELECT SWP write-protects the LU (libiscsi test_modesense6_control_swp)', async () => {
  const { a } = await ready();
  const page = await controlPage(a);
  page[0] |= 0x80; // PS is ignored
  page[4] |= 0x08;
  const ms = modeSelect6(page);
  assert.equal((await run(a, ms.cdb, { data: ms.data })).status, 0);
  assert.equal((await controlPage(a))[4] & 0x08, 0x08);
  assert.equal((await run(a, [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], { edtl: 512 })).status, 0);
  const w = await run(a, [0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0], { data: Buffer.alloc(512) });
  assert.deepEqual([sense(w).key, sense(w).asc], [7, 0x27]);
  const hdr = (await run(a, [0x1a, 0x08, 0x0a, 0, 255, 0], { edtl: 255 })).data!;
  assert.equal(hdr[2] & 0x80, 0x80);
  page[4] &= ~0x08;
  const clr = modeSelect6(page);
  assert.equal((await run(a, clr.cdb, { data: clr.data })).status, 0);
  assert.equal((await run(a, [0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0], { data: Buffer.alloc(512) })).status, 0);
});

test('MODE SELECT rejects non-changeable changes, bad lengths, SP and PF=0', async () => {
  const { a } = await ready();
  const page = await controlPage(a);
  const bad = Buffer.from(page);
  bad[3] ^= 0x02; // QERR is not changeable
  let ms = modeSelect6(bad);
  let r = await run(a, ms.cdb, { data: ms.data });
  assert.deepEqual([sense(r).key, sense(r).asc], [5, 0x26]);
  assert.equal(sense(r).sks!.readUInt16BE(1), 4 + 3);
  assert.equal(sense(r).sks![0] & 0x40, 0); // C/D = 0: parameter list
  // Page length mismatch.
  const wrongLen = Buffer.from(page);
  wrongLen[1] = 0x09;
  ms = modeSelect6(wrongLen.subarray(0, 11));
  assert.equal(sense(await run(a, ms.cdb, { data: ms.data })).asc, 0x26);
  // Truncated page.
  ms = modeSelect6(page.subarray(0, 6));
  assert.equal(sense(await run(a, ms.cdb, { data: ms.data })).asc, 0x1a);
  // SP=1, PF=0.
  ms = modeSelect6(page);
  assert.equal(sense(await run(a, [0x15, 0x11, 0, 0, ms.data.length, 0], { data: ms.data })).asc, 0x24);
  assert.equal(sense(await run(a, [0x15, 0x00, 0, 0, ms.data.length, 0], { data: ms.data })).asc, 0x24);
  // Parameter list length 0 is a no-op.
  assert.equal((await run(a, [0x15, 0x10, 0, 0, 0, 0])).status, 0);
  // MODE SELECT(10) with a block descriptor matching the LU.
  const bd = Buffer.alloc(8);
  bd.writeUInt32BE(1024, 0);
  bd.writeUIntBE(512, 5, 3);
  const hdr10 = Buffer.alloc(8);
  hdr10.writeUInt16BE(8, 6);
  const data10 = Buffer.concat([hdr10, bd, page]);
  assert.equal((await run(a, [0x55, 0x10, 0, 0, 0, 0, 0, 0, data10.length, 0], { data: data10 })).status, 0);
  bd.writeUIntBE(4096, 5, 3);
  const data10b = Buffer.concat([hdr10, bd, page]);
  assert.equal(sense(await run(a, [0x55, 0x10, 0, 0, 0, 0, 0, 0, data10b.length, 0], { data: data10b })).asc, 0x26);
});
