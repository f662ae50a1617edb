// A saveconfig.json as targetcli-fb writes it on a LIO host (fileio + ramdisk,
// explicit ACL, full attribute/parameter sets, a disabled TPG) loads and
// serves once its paths and portal are moved into the test's sandbox.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describeRun, freePort, repoPath, requireQemuIscsi, requireTool, run, runOk, withTarget, withTempDir } from './harness.js';
import { lunUrl, portalUrl, qemuLun } from './configs.js';
import type { SaveConfig } from '../../src/index.js';

const FIXTURE = repoPath('test/fixtures/integration/lio-saveconfig.json');
const ACL_INITIATOR = 'iqn.1994-05.com.redhat:web01-client';
const TARGET = 'iqn.2003-01.org.linux-iscsi.storage1.x8664:sn.6a1f9b2c3d4e';
const DISABLED_TARGET = 'iqn.2003-01.org.linux-iscsi.storage1.x8664:sn.0f0e0d0c0b0a';

/** The LIO file with every fileio `dev` moved into dir and every portal put on 127.0.0.1:port. */
async function sandboxed(dir: string, port: number): Promise<SaveConfig> {
  const raw = JSON.parse(await readFile(FIXTURE, 'utf8')) as SaveConfig;
  for (const so of raw.storage_objects) {
    if (so.plugin === 'fileio') so.dev = join(dir, basename(so.dev));
  }
  for (const t of raw.targets) {
    for (const tpg of t.tpgs) {
      for (const p of tpg.portals) {
        p.ip_address = '127.0.0.1';
        p.port = port;
      }
    }
  }
  return raw;
}

test('LIO saveconfig.json: loads and serves its LUNs to the ACL initiator', { timeout: 120_000 }, async () => {
  requireTool('iscsi-ls');
  requireTool('iscsi-readcapacity16');
  requireQemuIscsi();
  await withTempDir(async (dir) => {
    const port = await freePort();
    const config = await sandboxed(dir, port);
    // an existing backing file with content: fileio must serve it, not recreate it
    const content = randomBytes(16 * 1024 * 1024);
    const local = join(dir, 'web01.img');
    await writeFile(local, content);
    await writeFile(join(dir, 'expected.img'), content);

    await withTarget(config, async () => {
      const ls = await runOk('iscsi-ls', ['-s', '-i', ACL_INITIATOR, portalUrl(port)]);
      assert.ok(ls.includes(`Target:${TARGET} Portal:127.0.0.1:${port},1`), ls);
      assert.match(ls, /^Lun:0\s+Type:DIRECT_ACCESS/m, ls);
      assert.match(ls, /^Lun:1\s+Type:DIRECT_ACCESS/m, ls);
      assert.ok(!ls.includes(DISABLED_TARGET), `a disabled TPG must not be discovered\n${ls}`);

      const rc0 = await runOk('iscsi-readcapacity16', ['-s', '-i', ACL_INITIATOR, lunUrl(port, 0, {}, TARGET)]);
      assert.equal(rc0.trim(), String(16 * 1024 * 1024));
      const rc1 = await runOk('iscsi-readcapacity16', ['-s', '-i', ACL_INITIATOR, lunUrl(port, 1, {}, TARGET)]);
      assert.equal(rc1.trim(), String(8 * 1024 * 1024));

      // the pre-existing file content is what the LUN shows
      const cmp = await runOk(
        'qemu-img',
        ['compare', '-f', 'raw', join(dir, 'expected.img'), qemuLun(port, 0, { initiatorName: ACL_INITIATOR }, TARGET)],
        { timeoutMs: 60_000 },
      );
      assert.match(cmp, /Images are identical/, cmp);

      // not in the ACL, and generate_node_acls is 0
      const args = ['-i', 'iqn.2025-01.org.tsgt:stranger', lunUrl(port, 0, {}, TARGET)];
      const denied = await run('iscsi-readcapacity16', args);
      assert.notEqual(denied.code, 0, describeRun('iscsi-readcapacity16', args, denied));
    });
  });
});

test('LIO saveconfig.json: the ramdisk LUN keeps data for the life of the target', { timeout: 120_000 }, async () => {
  requireQemuIscsi();
  await withTempDir(async (dir) => {
    const port = await freePort();
    const config = await sandboxed(dir, port);
    const img = join(dir, 'scratch.img');
    await writeFile(img, randomBytes(8 * 1024 * 1024));
    await withTarget(config, async () => {
      const lun1 = qemuLun(port, 1, { initiatorName: ACL_INITIATOR }, TARGET);
      await runOk('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', img, lun1], { timeoutMs: 60_000 });
      const cmp = await runOk('qemu-img', ['compare', '-f', 'raw', img, lun1], { timeoutMs: 60_000 });
      assert.match(cmp, /Images are identical/, cmp);
    });
  });
});
