// Encryption at rest (backstore/encrypted.ts, key-store.ts): AES-256-XTS per
// logical block with the LBA as tweak, zero blocks reading as zeros, caller
// buffers left alone, crypto erase, key files.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { encryptedDevice } from '../../src/backstore/encrypted.js';
import { generateXtsKey, KEY_FILE_BYTES, keyFilePath, KeyStoreError, loadOrCreateKey, readKeyFile } from '../../src/backstore/key-store.js';
import { BackstoreOpenError, openStorageObject } from '../../src/backstore/open.js';
import { openRamdisk } from '../../src/backstore/ramdisk.js';
import type { StorageObjectConfig } from '../../src/config/model.js';

const WWN = '0f6a2c1e-5b3d-4e7f-8a9b-1c2d3e4f5a6b';

/** Node's own aes-256-xts, one context per block: the reference the wrapper must match byte for byte. */
function referenceXts(key: Buffer, lba: number, blockSize: number, plain: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let b = 0; b < plain.length / blockSize; b++) {
    const tweak = Buffer.alloc(16);
    tweak.writeBigUInt64LE(BigInt(lba + b));
    const c = createCipheriv('aes-256-xts', key, tweak);
    out.push(c.update(plain.subarray(b * blockSize, (b + 1) * blockSize)), c.final());
  }
  return Buffer.concat(out);
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tsgt-enc-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const fileio = (dir: string, extra: Record<string, number> = {}): StorageObjectConfig => ({
  plugin: 'fileio',
  name: 'enc0',
  dev: join(dir, 'enc0.img'),
  size: 4 << 20,
  write_back: true,
  wwn: WWN,
  attributes: { encryption: 1, ...extra },
});

test('round trip at 512 and 4096 bytes per block: into or not, unaligned, split iovecs, writes larger than a chunk', async () => {
  for (const blockSize of [512, 4096]) {
    const inner = await openRamdisk({ size: 8 << 20, blockSize });
    const dev = encryptedDevice(inner, { key: generateXtsKey() });
    const data = randomBytes(3 * 1024 * 1024 + 5 * blockSize); // crosses the 1 MiB chunks
    const cut = [0, 7, blockSize + 3, 2 * 1024 * 1024 + 1, data.length];
    const pieces = cut.slice(1).map((end, i) => data.subarray(cut[i], end));
    await dev.write(9, pieces);
    const n = data.length / blockSize;
    assert.ok((await dev.read(9, n)).equals(data), `read ${blockSize}`);
    const into = Buffer.alloc(data.length + 3);
    const unaligned = into.subarray(1, 1 + data.length);
    assert.equal(await dev.read(9, n, unaligned), unaligned);
    assert.ok(unaligned.equals(data), `read into an unaligned buffer ${blockSize}`);
    assert.equal(into[0], 0);
    assert.ok((await dev.read(10, 1)).equals(data.subarray(blockSize, 2 * blockSize)), 'a block read alone');
    await dev.close();
  }
});

test('the medium holds IEEE 1619 XTS ciphertext, the tweak is the LBA: equal blocks encrypt differently', async () => {
  const key = generateXtsKey();
  const inner = await openRamdisk({ size: 1 << 20, blockSize: 512 });
  const dev = encryptedDevice(inner, { key });
  const block = Buffer.alloc(512, 0x5a);
  await dev.write(100, [block, block, block]);
  const raw = await inner.read(100, 3);
  assert.ok(!raw.subarray(0, 512).equals(block), 'ciphertext is not the plaintext');
  assert.ok(!raw.subarray(0, 512).equals(raw.subarray(512, 1024)), 'LBA 100 and 101 differ');
  assert.ok(!raw.subarray(512, 1024).equals(raw.subarray(1024)), 'LBA 101 and 102 differ');
  assert.ok(raw.equals(referenceXts(key, 100, 512, Buffer.concat([block, block, block]))), "Node's aes-256-xts, block by block");
  await dev.close();
});

test('property: the wrapper equals aes-256-xts for any LBA (beyond 2^32 too), length and block size', async () => {
  const key = generateXtsKey();
  for (const blockSize of [512, 4096]) {
    const blockCount = 2 ** 33;
    const stored = new Map<number, Buffer>();
    // A sparse fake device: enough to place writes at LBAs beyond 32 bits.
    const inner = {
      blockSize,
      blockCount,
      readOnly: false,
      writeCache: false,
      async read(lba: number, blocks: number, into?: Buffer) {
        const out = into ?? Buffer.alloc(blocks * blockSize);
        for (let b = 0; b < blocks; b++) (stored.get(lba + b) ?? Buffer.alloc(blockSize)).copy(out, b * blockSize);
        return out;
      },
      async write(lba: number, data: readonly Buffer[]) {
        const all = Buffer.concat(data as Buffer[]);
        for (let b = 0; b < all.length / blockSize; b++) stored.set(lba + b, Buffer.from(all.subarray(b * blockSize, (b + 1) * blockSize)));
      },
      async flush() {},
      async close() {},
    };
    const dev = encryptedDevice(inner, { key });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: blockCount - 64 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 255 }), async (lba, blocks, seed) => {
        stored.clear();
        const plain = Buffer.alloc(blocks * blockSize);
        for (let i = 0; i < plain.length; i++) plain[i] = (i * 31 + seed) & 0xff;
        await dev.write(lba, [plain]);
        const raw = await inner.read(lba, blocks);
        assert.ok(raw.equals(referenceXts(key, lba, blockSize, plain)));
        assert.ok((await dev.read(lba, blocks)).equals(plain));
      }),
      { numRuns: 40 },
    );
  }
});

test('all-zero stored blocks read as zeros: never written, unmapped, zeroed, and between written ones', async () => {
  const inner = await openRamdisk({ size: 1 << 20, blockSize: 512, chunkSize: 4096 });
  const dev = encryptedDevice(inner, { key: generateXtsKey() });
  assert.ok((await dev.read(0, 16)).equals(Buffer.alloc(16 * 512)), 'never written');
  const a = Buffer.alloc(512, 0xa1);
  const zeros = Buffer.alloc(512);
  await dev.write(0, [a, zeros, a]);
  assert.ok(!(await inner.read(1, 1)).equals(zeros), 'written zeros are stored encrypted');
  await dev.writeZeroes!(1, 1);
  assert.ok((await inner.read(1, 1)).equals(zeros));
  assert.ok((await dev.read(0, 3)).equals(Buffer.concat([a, zeros, a])), 'mixed read');
  await dev.write(8, [Buffer.alloc(8 * 512, 0x77)]);
  await dev.unmap!([{ lba: 8, blocks: 8 }]);
  assert.ok((await dev.read(8, 8)).equals(Buffer.alloc(8 * 512)), 'unmapped');
  assert.equal(dev.unmapZeroes, true);
  assert.equal(dev.unmapGranularity, inner.unmapGranularity);
  assert.deepEqual(await dev.lbaStatus!(0, 16), await inner.lbaStatus(0, 16));
  await dev.close();
});

test("writes never modify the caller's buffers", async () => {
  const inner = await openRamdisk({ size: 4 << 20, blockSize: 512 });
  const dev = encryptedDevice(inner, { key: generateXtsKey() });
  const whole = randomBytes(2 * 1024 * 1024 + 1024);
  const backing = Buffer.alloc(whole.length + 1);
  whole.copy(backing, 1);
  const bufs = [backing.subarray(1, 1000), backing.subarray(1000, 1 + whole.length)]; // unaligned, split mid-block
  const before = Buffer.from(backing);
  await dev.write(0, bufs);
  assert.ok(backing.equals(before));
  const aligned = Buffer.from(whole);
  await dev.write(0, [aligned]);
  assert.ok(aligned.equals(whole));
  await dev.close();
});

test('crypto erase: old data unreadable, holes still zeros, key file replaced (0600 in a 0700 directory)', async () => {
  await withDir(async (dir) => {
    const keyFile = keyFilePath(join(dir, 'state'), WWN);
    const dev = await openStorageObject(fileio(dir), { keyFile });
    assert.ok(dev.cryptoErase, 'an encrypted storage object offers crypto erase');
    const before = await readFile(keyFile);
    assert.equal(before.length, KEY_FILE_BYTES);
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'state', 'keys'))).mode & 0o777, 0o700);
    const data = Buffer.alloc(64 * 512, 'a');
    await dev.write(0, [data]);
    await dev.cryptoErase!();
    const after = await dev.read(0, 64);
    assert.ok(!after.equals(data), 'old data is gone');
    assert.ok(!after.subarray(0, 512).equals(Buffer.alloc(512)), 'written blocks read as other data, not zeros');
    assert.ok((await dev.read(1000, 4)).equals(Buffer.alloc(2048)), 'never-written blocks still read zeros');
    const replaced = await readFile(keyFile);
    assert.equal(replaced.length, KEY_FILE_BYTES);
    assert.ok(!replaced.equals(before), 'key file replaced');
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    // New writes work under the new key, and survive a restart with it.
    await dev.write(0, [data]);
    await dev.close();
    const again = await openStorageObject(fileio(dir), { keyFile });
    assert.ok((await again.read(0, 64)).equals(data));
    await again.close();
  });
});

test('a restart with the same key reads the data back; the key file is left as it was', async () => {
  await withDir(async (dir) => {
    const keyFile = keyFilePath(dir, WWN);
    const data = randomBytes(256 * 512);
    const a = await openStorageObject(fileio(dir), { keyFile });
    await a.write(17, [data]);
    await a.close();
    const key = await readFile(keyFile);
    const raw = await readFile(join(dir, 'enc0.img'));
    assert.ok(!raw.subarray(17 * 512, 17 * 512 + data.length).equals(data), 'the file holds ciphertext');
    const b = await openStorageObject(fileio(dir), { keyFile });
    assert.ok((await b.read(17, 256)).equals(data));
    await b.close();
    assert.ok((await readFile(keyFile)).equals(key));
  });
});

test('a damaged, short or foreign key file is a start error, never a new key', async () => {
  await withDir(async (dir) => {
    const keyFile = keyFilePath(dir, WWN);
    const { key } = await loadOrCreateKey(keyFile);
    const good = await readFile(keyFile);
    assert.ok((await readKeyFile(keyFile))!.equals(key));
    const flipped = Buffer.from(good);
    flipped[20] ^= 1;
    const equalHalves = Buffer.from(good);
    equalHalves.fill(7, 8, 72);
    for (const [what, bytes] of [
      ['flipped bit', flipped],
      ['short', good.subarray(0, 40)],
      ['empty', Buffer.alloc(0)],
      ['foreign', Buffer.alloc(KEY_FILE_BYTES, 1)],
      ['equal halves', equalHalves],
    ] as const) {
      await writeFile(keyFile, bytes);
      await assert.rejects(readKeyFile(keyFile), KeyStoreError, what);
      await assert.rejects(
        openStorageObject(fileio(dir), { keyFile, path: 'storage_objects[3]' }),
        (e: unknown) => e instanceof BackstoreOpenError && /storage_objects\[3\]\.attributes\.encryption: key file .*\.key: /.test(e.message) && !e.message.includes(key.toString('hex')),
        what,
      );
      assert.ok((await readFile(keyFile)).equals(bytes), `${what}: the file is left alone`);
    }
  });
});

test('encryption without a key file is refused; key file names are safe', async () => {
  await withDir(async (dir) => {
    await assert.rejects(openStorageObject(fileio(dir), { path: 'storage_objects[0]' }), /storage_objects\[0\]\.attributes\.encryption: encryption=1 needs a state directory/);
  });
  assert.equal(keyFilePath('/s', WWN), `/s/keys/${WWN}.key`);
  assert.equal(keyFilePath('/s', '../x/y'), '/s/keys/%2e.%2fx%2fy.key');
  const r = await openStorageObject({ plugin: 'ramdisk', name: 'plain', size: 1 << 20 });
  assert.equal(r.cryptoErase, undefined, 'an unencrypted storage object has no crypto erase');
  await r.close();
});

test('a new key over a medium that already holds data is warned about', async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, 'enc0.img'), Buffer.alloc(4 << 20, 0x33));
    const warnings: string[] = [];
    const dev = await openStorageObject(fileio(dir), { keyFile: keyFilePath(dir, WWN), onWarning: (m) => warnings.push(m) });
    await dev.close();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /already holds data/);
    const quiet: string[] = [];
    await rm(join(dir, 'enc0.img'));
    await rm(keyFilePath(dir, WWN));
    await (await openStorageObject(fileio(dir), { keyFile: keyFilePath(dir, WWN), onWarning: (m) => quiet.push(m) })).close();
    assert.deepEqual(quiet, []);
  });
});

test('crypto erase whose key cannot be persisted keeps the old key', async () => {
  const inner = await openRamdisk({ size: 1 << 20, blockSize: 512 });
  const dev = encryptedDevice(inner, {
    key: generateXtsKey(),
    persistKey: async () => {
      throw new Error('disk full');
    },
  });
  const data = Buffer.alloc(512, 0x42);
  await dev.write(3, [data]);
  await assert.rejects(dev.cryptoErase(), /disk full/);
  assert.ok((await dev.read(3, 1)).equals(data));
  await dev.close();
});

test('anchor passes through: anchored blocks read as zeros and stay allocated', async () => {
  const inner = await openRamdisk({ size: 1 << 20, blockSize: 512, chunkSize: 4096 });
  const dev = encryptedDevice(inner, { key: generateXtsKey() });
  assert.ok(dev.anchor, 'the wrapper offers anchor when the inner device does');
  await dev.write(8, [Buffer.alloc(16 * 512, 0x7e)]);
  await dev.anchor([{ lba: 8, blocks: 8 }]);
  assert.deepEqual(await dev.read(8, 8), Buffer.alloc(8 * 512));
  assert.deepEqual(await dev.read(16, 8), Buffer.alloc(8 * 512, 0x7e));
  const status = await dev.lbaStatus!(8, 8);
  assert.ok(status.every((e) => e.mapped), 'anchored blocks are never reported deallocated');
});
