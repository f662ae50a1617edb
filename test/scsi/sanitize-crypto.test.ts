// SANITIZE CRYPTOGRAPHIC ERASE (SBC-4 §5.30, §4.11) on an encrypted LU
// (backstore/encrypted.ts): offered exactly when the device can change its
// key (REPORT SUPPORTED OPERATION CODES, VPD B1h WACEREQ), PARAMETER LIST
// LENGTH 0, IMMED, the background operation, failure mode, protection.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LunMapping, ScsiResult } from '../../src/scsi/api.js';
import { createLogicalUnit } from '../../src/scsi/logical-unit.js';
import { openNexus, type TargetScope } from '../../src/scsi/nexus.js';
import { encryptedDevice } from '../../src/backstore/encrypted.js';
import { generateXtsKey } from '../../src/backstore/key-store.js';
import type { BlockDevice } from '../../src/backstore/types.js';
import { cdb10, makeNexus, makeView, run, sense, WWN } from './harness.js';
import { memoryDevice, type MemoryDevice } from './memory-device.js';

const BS = 512;
const TUR = [0x00, 0, 0, 0, 0, 0];
const RSOC_ALL = [0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0];
const CRYPTO_ERASE = 0x03;
const EXIT_FAILURE_MODE = 0x1f;

function sanitizeCdb(sa: number, o: { immed?: boolean; ause?: boolean; length?: number } = {}): number[] {
  const len = o.length ?? 0;
  return [0x48, (o.immed ? 0x80 : 0) | (o.ause ? 0x20 : 0) | sa, 0, 0, 0, 0, 0, (len >> 8) & 0xff, len & 0xff, 0];
}

/** RSOC one-command format, REQUESTED SERVICE ACTION (reporting options 010b). */
function rsocOne(opcode: number, sa: number): number[] {
  return [0xa3, 0x0c, 0x02, opcode, (sa >> 8) & 0xff, sa & 0xff, 0, 0, 0x01, 0, 0, 0];
}

interface Fixture {
  mem: MemoryDevice;
  device: BlockDevice;
  /** Copies of the keys the device persisted. */
  persisted: Buffer[];
  open(id: string): ReturnType<typeof openNexus>;
  unit: ReturnType<typeof createLogicalUnit>;
}

function fixture(o: { encrypted?: boolean; writeProtect?: boolean; persist?: (key: Buffer) => Promise<void> } = {}): Fixture {
  const mem = memoryDevice({ blockCount: 256 });
  const persisted: Buffer[] = [];
  const device =
    o.encrypted === false
      ? mem
      : encryptedDevice(mem, {
          key: generateXtsKey(),
          persistKey: async (k) => {
            persisted.push(Buffer.from(k));
            await o.persist?.(k);
          },
        });
  const unit = createLogicalUnit({ device, name: 'enc0', wwn: WWN, vendor: 'TSGT', product: 'memdisk', revision: '0.1' });
  const mapping: LunMapping = { lun: 0, unit, writeProtect: o.writeProtect ?? false };
  const view = makeView([mapping]);
  const scope: TargetScope = { units: () => [unit] };
  return { mem, device, persisted, unit, open: (id) => openNexus(makeNexus(id), view, scope) };
}

function senseOf(r: ScsiResult): [number, number, number] {
  const s = sense(r);
  return [s.key, s.asc, s.ascq];
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function writeBlocks(nexus: ReturnType<typeof openNexus>, lba: number, data: Buffer): Promise<void> {
  const r = await run(nexus, cdb10(0x2a, lba, data.length / BS), { data });
  assert.equal(r.status, 0);
}

async function readBlocks(nexus: ReturnType<typeof openNexus>, lba: number, blocks: number): Promise<Buffer> {
  const r = await run(nexus, cdb10(0x28, lba, blocks), { edtl: blocks * BS });
  assert.equal(r.status, 0);
  return r.data!;
}

test('REPORT SUPPORTED OPERATION CODES lists 48h/03h and VPD B1h has WACEREQ=01b exactly when the LU is encrypted', async () => {
  for (const encrypted of [true, false]) {
    const a = fixture({ encrypted }).open('a');
    const all = (await run(a, RSOC_ALL, { edtl: 4096 })).data!;
    const sas: number[] = [];
    for (let p = 4; p + 8 <= 4 + all.readUInt32BE(0); p += 8) if (all[p] === 0x48) sas.push(all.readUInt16BE(p + 2));
    assert.equal(sas.includes(CRYPTO_ERASE), encrypted, `all commands, encrypted=${encrypted}`);
    const one = (await run(a, rsocOne(0x48, CRYPTO_ERASE), { edtl: 64 })).data!;
    assert.equal(one[1] & 0x07, encrypted ? 0x03 : 0x01, `SUPPORT, encrypted=${encrypted}`);
    if (encrypted) assert.deepEqual([...one.subarray(4, 6)], [0x48, 0xbf]);
    const b1 = (await run(a, [0x12, 1, 0xb1, 0, 64, 0], { edtl: 64 })).data!;
    assert.equal((b1[7] >> 4) & 3, encrypted ? 1 : 0, `WACEREQ, encrypted=${encrypted}`);
    assert.equal(b1[7] >> 6, 0, 'WABEREQ: no block erase on a fully provisioned LU');
  }
});

test('CRYPTOGRAPHIC ERASE: old data reads back as other data, unwritten blocks as zeros, reads succeed', async () => {
  const f = fixture();
  const a = f.open('a');
  const data = Buffer.alloc(8 * BS, 'a');
  await writeBlocks(a, 0, data);
  await writeBlocks(a, 248, data);
  assert.ok((await readBlocks(a, 0, 8)).equals(data));
  const flushes = f.mem.flushes;
  assert.equal((await run(a, sanitizeCdb(CRYPTO_ERASE))).status, 0);
  assert.equal(f.persisted.length, 1, 'the new key was persisted');
  assert.ok(f.mem.flushes > flushes, 'and the medium flushed');
  for (const lba of [0, 248]) {
    const after = await readBlocks(a, lba, 8);
    assert.ok(!after.equals(data), `LBA ${lba}: not the old data`);
    assert.ok(!after.equals(Buffer.alloc(8 * BS)), `LBA ${lba}: not zeros either`);
  }
  assert.ok((await readBlocks(a, 100, 4)).equals(Buffer.alloc(4 * BS)));
  await writeBlocks(a, 0, data);
  assert.ok((await readBlocks(a, 0, 8)).equals(data), 'new writes read back');
  assert.equal((await run(a, TUR)).status, 0);
});

test('PARAMETER LIST LENGTH other than 0 and reserved CDB fields are INVALID FIELD IN CDB; no erase happens', async () => {
  const f = fixture();
  const a = f.open('a');
  const data = Buffer.alloc(BS, 0x11);
  await writeBlocks(a, 5, data);
  const bad = [sanitizeCdb(CRYPTO_ERASE, { length: 8 }), sanitizeCdb(CRYPTO_ERASE, { length: 1 })];
  const reserved = sanitizeCdb(CRYPTO_ERASE);
  reserved[1] |= 0x40;
  bad.push(reserved);
  for (let i = 2; i <= 6; i++) {
    const c = sanitizeCdb(CRYPTO_ERASE);
    c[i] = 1;
    bad.push(c);
  }
  for (const cdb of bad) assert.deepEqual(senseOf(await run(a, cdb, { data: Buffer.alloc(8) })), [0x5, 0x24, 0x00], Buffer.from(cdb).toString('hex'));
  assert.equal(f.persisted.length, 0);
  assert.ok((await readBlocks(a, 5, 1)).equals(data));
});

test('IMMED=1 returns at once; until the key is durable the LU is NOT READY, SANITIZE IN PROGRESS', async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const f = fixture({ persist: () => held });
  const a = f.open('a');
  const b = f.open('b');
  const data = Buffer.alloc(BS, 0x22);
  await writeBlocks(a, 0, data);
  assert.equal((await run(a, sanitizeCdb(CRYPTO_ERASE, { immed: true }))).status, 0);
  assert.ok(f.unit.sanitizing, 'running');
  assert.equal(f.unit.sanitizing!.serviceAction, CRYPTO_ERASE);
  const s = sense(await run(b, cdb10(0x28, 0, 1), { edtl: BS }));
  assert.deepEqual([s.key, s.asc, s.ascq], [0x2, 0x04, 0x1b]);
  assert.ok(s.sks && (s.sks[0] & 0x80) !== 0, 'progress indication');
  assert.deepEqual(senseOf(await run(b, sanitizeCdb(CRYPTO_ERASE))), [0x2, 0x04, 0x1b], 'a second SANITIZE waits its turn');
  release();
  await until(() => f.unit.sanitizing === undefined);
  assert.ok(!(await readBlocks(b, 0, 1)).equals(data));
  assert.equal(f.persisted.length, 1);
});

test('a key that cannot be persisted: SANITIZE COMMAND FAILED, old key kept; AUSE=1 leaves with EXIT FAILURE MODE', async () => {
  let fail = true;
  const f = fixture({
    persist: async () => {
      if (fail) throw new Error('EIO');
    },
  });
  const a = f.open('a');
  const data = Buffer.alloc(BS, 0x33);
  await writeBlocks(a, 7, data);
  assert.deepEqual(senseOf(await run(a, sanitizeCdb(CRYPTO_ERASE, { ause: true }))), [0x3, 0x31, 0x03]);
  assert.deepEqual(senseOf(await run(a, cdb10(0x28, 7, 1), { edtl: BS })), [0x3, 0x31, 0x03], 'failure mode refuses medium access');
  assert.equal((await run(a, sanitizeCdb(EXIT_FAILURE_MODE))).status, 0);
  assert.ok((await readBlocks(a, 7, 1)).equals(data), 'the old key is still in use');
  // AUSE=0: only a successful sanitize ends the failure mode.
  assert.deepEqual(senseOf(await run(a, sanitizeCdb(CRYPTO_ERASE))), [0x3, 0x31, 0x03]);
  assert.deepEqual(senseOf(await run(a, sanitizeCdb(EXIT_FAILURE_MODE))), [0x5, 0x24, 0x00]);
  fail = false;
  assert.equal((await run(a, sanitizeCdb(CRYPTO_ERASE))).status, 0);
  assert.ok(!(await readBlocks(a, 7, 1)).equals(data));
});

test('write protection refuses CRYPTOGRAPHIC ERASE; an unencrypted LU refuses it as an unsupported service action', async () => {
  const wp = fixture({ writeProtect: true });
  assert.deepEqual(senseOf(await run(wp.open('a'), sanitizeCdb(CRYPTO_ERASE))), [0x7, 0x27, 0x00]);
  assert.equal(wp.persisted.length, 0);
  const plain = fixture({ encrypted: false });
  assert.deepEqual(senseOf(await run(plain.open('a'), sanitizeCdb(CRYPTO_ERASE))), [0x5, 0x24, 0x00]);
});
