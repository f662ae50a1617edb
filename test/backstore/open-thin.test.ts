import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorageObject } from '../../src/backstore/open.js';
import type { StorageObjectConfig } from '../../src/config/model.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsgt-openthin-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const thinFileio = (dir: string, attributes: Record<string, number> = { emulate_tpu: 1, emulate_tpws: 1 }): StorageObjectConfig => ({
  plugin: 'fileio',
  name: 'thin0',
  dev: join(dir, 'thin0.img'),
  size: 1 << 20,
  write_back: true,
  attributes,
});

test('thin fileio asked for but no provisioning calls: one warning naming the object, the device has no unmap', async () => {
  await withDir(async (dir) => {
    const warnings: string[] = [];
    const dev = await openStorageObject(thinFileio(dir), { native: null, onWarning: (m) => warnings.push(m) });
    try {
      assert.equal(dev.unmap, undefined);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /storage object 'thin0' has emulate_tpu\/emulate_tpws set but is presented fully provisioned/);
    } finally {
      await dev.close();
    }
  });
});

test('thin fileio with the addon: unmap present and no warning; not asked for: no warning either', { skip: process.platform !== 'linux' && 'Linux only' }, async () => {
  await withDir(async (dir) => {
    const warnings: string[] = [];
    const dev = await openStorageObject(thinFileio(dir), { onWarning: (m) => warnings.push(m) });
    assert.equal(typeof dev.unmap, 'function');
    await dev.close();
    const plain = await openStorageObject(thinFileio(dir, {}), { native: null, onWarning: (m) => warnings.push(m) });
    await plain.close();
    assert.deepEqual(warnings, []);
  });
});

test('ramdisk always deallocates: no warning', async () => {
  const warnings: string[] = [];
  const dev = await openStorageObject({ plugin: 'ramdisk', name: 'r0', size: 1 << 20, attributes: { emulate_tpu: 1 } }, { onWarning: (m) => warnings.push(m) });
  assert.equal(typeof dev.unmap, 'function');
  assert.deepEqual(warnings, []);
  await dev.close();
});
