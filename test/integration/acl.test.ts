// Explicit node ACLs (generate_node_acls 0): the listed initiator logs in and
// sees its mapped LUN numbers; anyone else is refused at login and does not
// see the target in SendTargets (LIO behaviour, RFC 7143 §11.13.5 02/02).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeRun, freePort, requireQemuIscsi, requireTool, run, runOk, withTarget, withTempDir } from './harness.js';
import { MIB, TARGET_IQN, basicConfig, lunUrl, portalUrl, qemuLun, tpgOf } from './configs.js';
import type { SaveConfig } from '../../src/index.js';

const T = { timeout: 60_000 };
const INITIATOR_A = 'iqn.2025-01.org.tsgt:initiator-a';
const INITIATOR_B = 'iqn.2025-01.org.tsgt:initiator-b';
const TARGET_LINE = new RegExp(`^Target:${TARGET_IQN.replace(/\./g, '\\.')} Portal:`, 'm');

/** A sees tpg_lun 0 as LUN 5 (read-write) and as LUN 6 (write-protected). */
function aclConfig(dir: string, port: number, size = 64 * MIB): SaveConfig {
  const config = basicConfig({ dir, port, size, tpgAttributes: { generate_node_acls: 0 } });
  tpgOf(config).node_acls.push({
    node_wwn: INITIATOR_A,
    mapped_luns: [
      { index: 5, tpg_lun: 0, write_protect: false },
      { index: 6, tpg_lun: 0, write_protect: true },
    ],
  });
  return config;
}

test('ACL: initiator A logs in and REPORT LUNS shows its mapped LUN numbers', T, async () => {
  requireTool('iscsi-ls');
  requireTool('iscsi-inq');
  await withTempDir(async (dir) => {
    const port = await freePort();
    await withTarget(aclConfig(dir, port), async () => {
      const out = await runOk('iscsi-ls', ['-s', '-i', INITIATOR_A, portalUrl(port)]);
      assert.match(out, TARGET_LINE, out);
      assert.match(out, /^Lun:5\s+Type:DIRECT_ACCESS/m, out);
      assert.match(out, /^Lun:6\s+Type:DIRECT_ACCESS/m, out);
      assert.doesNotMatch(out, /^Lun:0\s/m, out);
      assert.equal((out.match(/^Lun:/gm) ?? []).length, 2, out);

      const inq = await runOk('iscsi-inq', ['-i', INITIATOR_A, lunUrl(port, 5)]);
      assert.match(inq, /^Peripheral Qualifier:CONNECTED$/m, inq);
      assert.match(inq, /^Vendor:TSGT/m, inq);

      // LUN 0 exists in the TPG but is not mapped for A
      const args = ['-i', INITIATOR_A, lunUrl(port, 0)];
      const r = await run('iscsi-readcapacity16', args);
      assert.notEqual(r.code, 0, describeRun('iscsi-readcapacity16', args, r));
    });
  });
});

test('ACL: initiator B is refused at login and SendTargets hides the target from it', T, async () => {
  requireTool('iscsi-ls');
  requireTool('iscsi-inq');
  await withTempDir(async (dir) => {
    const port = await freePort();
    await withTarget(aclConfig(dir, port), async (server) => {
      const lsArgs = ['-i', INITIATOR_B, portalUrl(port)];
      const ls = await run('iscsi-ls', lsArgs);
      assert.equal(ls.timedOut, false, describeRun('iscsi-ls', lsArgs, ls));
      assert.doesNotMatch(ls.stdout, TARGET_LINE, describeRun('iscsi-ls', lsArgs, ls));
      assert.ok(!ls.stdout.includes(TARGET_IQN), describeRun('iscsi-ls', lsArgs, ls));

      for (const lun of [0, 5]) {
        const args = ['-i', INITIATOR_B, lunUrl(port, lun)];
        const r = await run('iscsi-inq', args);
        const text = describeRun('iscsi-inq', args, r);
        assert.notEqual(r.code, 0, text);
        assert.doesNotMatch(r.stdout, /^Vendor:/m, text);
        assert.match(r.stdout + r.stderr, /login failed|failed to log ?in|authoriz|not allowed/i, text);
      }
      assert.equal(server.sessions().filter((s) => s.type === 'Normal').length, 0);

      // and A still gets in on the same target
      const ok = await runOk('iscsi-ls', ['-i', INITIATOR_A, portalUrl(port)]);
      assert.match(ok, TARGET_LINE, ok);
    });
  });
});

test('ACL: initiator names match case-insensitively', T, async () => {
  requireTool('iscsi-inq');
  await withTempDir(async (dir) => {
    const port = await freePort();
    await withTarget(aclConfig(dir, port), async () => {
      const out = await runOk('iscsi-inq', ['-i', INITIATOR_A.toUpperCase().replace('IQN.', 'iqn.'), lunUrl(port, 5)]);
      assert.match(out, /^Vendor:TSGT/m, out);
    });
  });
});

test('ACL: a write-protected mapped LUN refuses writes, its read-write twin accepts them', { timeout: 120_000 }, async () => {
  requireQemuIscsi();
  await withTempDir(async (dir) => {
    const port = await freePort();
    const size = 4 * MIB;
    const img = join(dir, 'random.img');
    const data = randomBytes(size);
    await writeFile(img, data);
    await withTarget(aclConfig(dir, port, size), async () => {
      const target = (lun: number) => qemuLun(port, lun, { initiatorName: INITIATOR_A });
      const roArgs = ['convert', '-n', '-f', 'raw', '-O', 'raw', img, target(6)];
      const ro = await run('qemu-img', roArgs, { timeoutMs: 60_000 });
      assert.notEqual(ro.code, 0, describeRun('qemu-img', roArgs, ro));
      assert.ok((await readFile(join(dir, 'disk0.img'))).equals(Buffer.alloc(size)), 'write-protected LUN changed the backing file');

      await runOk('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', img, target(5)], { timeoutMs: 60_000 });
      assert.ok((await readFile(join(dir, 'disk0.img'))).equals(data), 'read-write LUN did not store the data');
    });
  });
});
