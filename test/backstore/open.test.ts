import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackstoreOpenError, openStorageObject } from '../../src/backstore/open.js';

test('fileio: relative dev resolves against baseDir; block_size attribute is honoured', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgt-open-'));
  try {
    const dev = await openStorageObject(
      { plugin: 'fileio', name: 'd0', dev: 'disks/d0.img', size: 1 << 20, write_back: true, attributes: { block_size: 4096 } },
      { baseDir: dir },
    );
    assert.equal(statSync(join(dir, 'disks', 'd0.img')).size, 1 << 20);
    assert.equal(dev.blockSize, 4096);
    assert.equal(dev.blockCount, 256);
    assert.equal(dev.writeCache, true);
    await dev.close();
    // write_back omitted: rtslib's default is false
    const d2 = await openStorageObject({ plugin: 'fileio', name: 'd0', dev: join(dir, 'disks', 'd0.img') });
    assert.equal(d2.writeCache, false);
    assert.equal(d2.blockSize, 512);
    await d2.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ramdisk and nullio', async () => {
  const r = await openStorageObject({ plugin: 'ramdisk', name: 'r', size: 1 << 20 });
  assert.equal(r.blockCount, 2048);
  assert.ok(r.unmap, 'ramdisk advertises unmap');
  await r.write(0, [Buffer.alloc(512, 1)]);
  assert.ok((await r.read(0, 1)).equals(Buffer.alloc(512, 1)));
  await r.close();
  const n = await openStorageObject({ plugin: 'ramdisk', name: 'n', size: 1 << 20, nullio: true });
  await n.write(0, [Buffer.alloc(512, 1)]);
  assert.ok((await n.read(0, 1)).equals(Buffer.alloc(512)));
  await n.close();
});

test('failures are BackstoreOpenError naming the storage object and config path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgt-open-'));
  try {
    await assert.rejects(
      openStorageObject({ plugin: 'block', name: 'b0', dev: join(dir, 'nope') }, { path: 'storage_objects[2]' }),
      (e: unknown) => {
        assert.ok(e instanceof BackstoreOpenError);
        assert.equal(e.storageObject, 'b0');
        assert.equal(e.path, 'storage_objects[2]');
        assert.match(e.message, /^storage_objects\[2\]: block b0 .*does not exist/);
        return true;
      },
    );
    await assert.rejects(openStorageObject({ plugin: 'fileio', name: 'f', dev: dir, size: 4096 }), /fileio f .*is a directory/);
    await assert.rejects(
      openStorageObject({ plugin: 'pscsi', name: 'p' } as never),
      (e: unknown) => e instanceof BackstoreOpenError && /unsupported plugin pscsi/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
