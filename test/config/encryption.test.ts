// Storage-object attribute `encryption` (tsgt extension): validation, the
// state-directory rule at start, key files per LU, and a damaged key file
// as a start error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/validate.js';
import { storageEncrypted } from '../../src/config/medium.js';
import { keyFilePath } from '../../src/backstore/key-store.js';
import { startTarget, TargetStartError } from '../../src/index.js';
import type { SaveConfig } from '../../src/config/model.js';
import { basicConfig } from '../integration/configs.js';
import { freePort, withTempDir } from '../integration/harness.js';

function withEncryption(config: SaveConfig, value: number | string): SaveConfig {
  config.storage_objects[0].attributes = { block_size: 512, encryption: value as number };
  return config;
}

test('attributes.encryption is 0 or 1', () => {
  for (const v of [0, 1]) {
    const r = validateConfig(withEncryption(basicConfig({ dir: '/tmp/x', port: 3260 }), v));
    assert.ok(r.ok, `encryption=${v}`);
    if (r.ok) assert.equal(storageEncrypted(r.config.storage_objects[0]), v === 1);
  }
  for (const v of [2, -1, 'yes']) {
    const r = validateConfig(withEncryption(basicConfig({ dir: '/tmp/x', port: 3260 }), v));
    assert.ok(!r.ok, `encryption=${v}`);
    if (!r.ok) assert.deepEqual(r.errors.map((e) => e.path), ['storage_objects[0].attributes.encryption']);
  }
  assert.equal(storageEncrypted({}), false);
});

test('encryption=1 without a state directory: startTarget fails naming the attribute, nothing is created', async () => {
  await withTempDir(async (dir) => {
    const config = withEncryption(basicConfig({ dir, port: await freePort() }), 1);
    await assert.rejects(startTarget(config, {}), (e: unknown) => {
      assert.ok(e instanceof TargetStartError);
      assert.deepEqual(
        e.errors.map((x) => [x.path, x.rule]),
        [['storage_objects[0].attributes.encryption', 'encryption-needs-state-dir']],
      );
      assert.match(e.message, /storage_objects\[0\]\.attributes\.encryption: encryption=1 needs a state directory/);
      return true;
    });
    await assert.rejects(stat(join(dir, 'disk0.img')), { code: 'ENOENT' }, 'the backing file was not created');
  });
});

test('with a state directory the key is created at <stateDir>/keys/<wwn>.key and reused; a damaged one stops the start', async () => {
  await withTempDir(async (dir) => {
    const stateDir = join(dir, 'state');
    const config = withEncryption(basicConfig({ dir, port: await freePort() }), 1);
    const keyFile = keyFilePath(stateDir, config.storage_objects[0].wwn!);
    const server = await startTarget(config, { stateDir });
    await server.close();
    const key = await readFile(keyFile);
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    await (await startTarget(config, { stateDir })).close();
    assert.ok((await readFile(keyFile)).equals(key), 'the second start reads the same key');
    await writeFile(keyFile, key.subarray(0, 10));
    await assert.rejects(startTarget(config, { stateDir }), (e: unknown) => {
      assert.ok(e instanceof TargetStartError);
      assert.deepEqual(e.errors.map((x) => [x.path, x.rule]), [['storage_objects[0]', 'open-failed']]);
      assert.match(e.message, /attributes\.encryption: key file .* is 10 bytes/);
      return true;
    });
    assert.equal((await readFile(keyFile)).length, 10, 'never silently replaced');
  });
});
