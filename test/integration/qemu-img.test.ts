// qemu-img (libiscsi block driver from qemu-block-extra) moving real data
// through tsgt: write 8 MiB of random bytes, compare, read them back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, requireQemuIscsi, runOk, run, describeRun, withTarget, withTempDir } from './harness.js';
import { MIB, basicConfig, lunUrl } from './configs.js';

const SIZE = 8 * MIB;
const T = { timeout: 120_000 };

/** Byte-compare and name the first differing offset. */
function assertSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  if (!actual.equals(expected)) {
    let i = 0;
    while (i < actual.length && actual[i] === expected[i]) i++;
    assert.fail(`${what}: first difference at byte ${i} (block ${Math.floor(i / 512)})`);
  }
}

/**
 * A random image of SIZE bytes in `dir`, converted by qemu-img onto LUN 0 of
 * a target serving `dir` (LUN exactly the image's size, so `-n`, do not create
 * the target, is exact); `fn` runs while the target is up.
 */
async function withImageOnLun(dir: string, fn: (url: string, img: string, data: Buffer) => Promise<void>): Promise<void> {
  const port = await freePort();
  const img = join(dir, 'random.img');
  const data = randomBytes(SIZE);
  await writeFile(img, data);
  await withTarget(basicConfig({ dir, port, size: SIZE }), async () => {
    const url = lunUrl(port, 0);
    await runOk('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', img, url], { timeoutMs: 60_000 });
    await fn(url, img, data);
  });
}

for (const memory of [false, true]) {
  const where = memory ? 'LUN file on tmpfs: Data-In by sendfile' : 'LUN file on a disk file system';
  test(`qemu-img: convert a random image onto the LUN, compare, read it back (${where})`, T, async () => {
    requireQemuIscsi();
    await withTempDir(async (dir) => {
      await withImageOnLun(dir, async (url, img, data) => {
        const cmp = await runOk('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', img, url], { timeoutMs: 60_000 });
        assert.match(cmp, /Images are identical/, cmp);

        const out = join(dir, 'back.img');
        await runOk('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', url, out], { timeoutMs: 60_000 });
        assertSameBytes(await readFile(out), data, 'image read back through iSCSI');

        // and the backing file holds exactly what was written
        assertSameBytes(await readFile(join(dir, 'disk0.img')), data, 'fileio backing file');
      });
    }, { memory });
  });
}

test('qemu-img compare notices a difference', T, async () => {
  requireQemuIscsi();
  await withTempDir(async (dir) => {
    await withImageOnLun(dir, async (url, img, data) => {
      // flip one byte in the local image: the LUN must now differ from it
      data[SIZE - 1000] ^= 0xff;
      await writeFile(img, data);
      const args = ['compare', '-f', 'raw', '-F', 'raw', img, url];
      const r = await run('qemu-img', args, { timeoutMs: 60_000 });
      assert.equal(r.code, 1, describeRun('qemu-img', args, r));
      assert.match(r.stdout, /Content mismatch at offset/, describeRun('qemu-img', args, r));
    });
  });
});

test('qemu-img info reports the LUN size', T, async () => {
  requireQemuIscsi();
  await withTempDir(async (dir) => {
    const port = await freePort();
    await withTarget(basicConfig({ dir, port, size: 24 * MIB }), async () => {
      const out = await runOk('qemu-img', ['info', '--output=json', lunUrl(port, 0)]);
      const info = JSON.parse(out) as { 'virtual-size': number; format: string };
      assert.equal(info['virtual-size'], 24 * MIB, out);
      assert.equal(info.format, 'raw', out);
      const human = await runOk('qemu-img', ['info', lunUrl(port, 0)]);
      assert.match(human, /virtual size: 24 MiB \(25165824 bytes\)/, human);
      assert.equal((await stat(join(dir, 'disk0.img'))).size, 24 * MIB);
    });
  });
});
