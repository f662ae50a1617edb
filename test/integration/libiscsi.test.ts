// libiscsi-bin utilities against a running tsgt: discovery + REPORT LUNS
// (iscsi-ls), standard and VPD INQUIRY (iscsi-inq), READ CAPACITY (16).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeRun, freePort, requireTool, run, runOk, withTarget, withTempDir } from './harness.js';
import { MIB, TARGET_IQN, basicConfig, lunUrl, portalUrl, tpgOf } from './configs.js';
import type { SaveConfig } from '../../src/index.js';

const T = { timeout: 60_000 };
const LUN0_SIZE = 64 * MIB;
const LUN1_SIZE = 8 * MIB;
const LUN1_BLOCK = 4096;

/** LUN 0: fileio 64 MiB / 512; LUN 1: ramdisk 8 MiB / 4096; custom INQUIRY strings. */
function twoLunConfig(dir: string, port: number): SaveConfig {
  const config = basicConfig({ dir, port, size: LUN0_SIZE });
  config.storage_objects.push({
    plugin: 'ramdisk',
    name: 'ram1',
    size: LUN1_SIZE,
    wwn: '0b7d51d4-3f0c-4c41-9a55-6e0e8b1f2a77',
    attributes: { block_size: LUN1_BLOCK },
  });
  tpgOf(config).luns.push({ index: 1, storage_object: '/backstores/ramdisk/ram1' });
  config.tsgt = { version: 1, vendor: 'ACME', product: 'InteropDisk', revision: '0.1' };
  return config;
}

function normalizeSerial(s: string): string {
  return s.trim().replace(/-/g, '').toLowerCase();
}

test('iscsi-ls -s lists the target, its portal and both LUNs', T, async () => {
  requireTool('iscsi-ls');
  await withTempDir(async (dir) => {
    const port = await freePort();
    await withTarget(twoLunConfig(dir, port), async () => {
      const out = await runOk('iscsi-ls', ['-s', portalUrl(port)]);
      assert.match(out, new RegExp(`^Target:${TARGET_IQN.replace(/\./g, '\\.')} Portal:127\\.0\\.0\\.1:${port},1$`, 'm'), out);
      assert.match(out, /^Lun:0\s+Type:DIRECT_ACCESS \(Size:6[34]M\)$/m, out);
      assert.match(out, /^Lun:1\s+Type:DIRECT_ACCESS \(Size:[78]M\)$/m, out);
      assert.equal((out.match(/^Lun:/gm) ?? []).length, 2, out);
    });
  });
});

test('iscsi-ls --url prints the target as a URL', T, async () => {
  requireTool('iscsi-ls');
  await withTempDir(async (dir) => {
    const port = await freePort();
    await withTarget(basicConfig({ dir, port }), async () => {
      const out = await runOk('iscsi-ls', ['--url', portalUrl(port)]);
      assert.ok(out.includes(`iscsi://127.0.0.1:${port}/${TARGET_IQN}/0`), out);
    });
  });
});

test('iscsi-inq: standard INQUIRY shows the configured vendor/product/revision', T, async () => {
  requireTool('iscsi-inq');
  await withTempDir(async (dir) => {
    const port = await freePort();
    await withTarget(twoLunConfig(dir, port), async () => {
      for (const lun of [0, 1]) {
        const out = await runOk('iscsi-inq', [lunUrl(port, lun)]);
        assert.match(out, /^Peripheral Qualifier:CONNECTED$/m, out);
        assert.match(out, /^Peripheral Device Type:DIRECT_ACCESS$/m, out);
        assert.match(out, /^Vendor:ACME\s*$/m, out);
        assert.match(out, /^Product:InteropDisk\s*$/m, out);
        assert.match(out, /^Revision:0\.1\s*$/m, out);
        assert.match(out, /^CmdQue:1$/m, out);
      }
    });
  });
});

test('iscsi-inq: default INQUIRY strings are TSGT / tsgt', T, async () => {
  requireTool('iscsi-inq');
  await withTempDir(async (dir) => {
    const port = await freePort();
    await withTarget(basicConfig({ dir, port }), async () => {
      const out = await runOk('iscsi-inq', [lunUrl(port, 0)]);
      assert.match(out, /^Vendor:TSGT\s*$/m, out);
      assert.match(out, /^Product:tsgt\s*$/m, out);
    });
  });
});

// iscsi-inq parses -c with base 10 ("0x80" would silently become page 0).
test('iscsi-inq -e 1: supported pages, unit serial (80h) and device identification (83h)', T, async () => {
  requireTool('iscsi-inq');
  await withTempDir(async (dir) => {
    const port = await freePort();
    const config = twoLunConfig(dir, port);
    await withTarget(config, async () => {
      const url = lunUrl(port, 0);
      const pages = await runOk('iscsi-inq', ['-e', '1', '-c', '0', url]);
      for (const p of ['0x00', '0x80', '0x83']) assert.match(pages, new RegExp(`^Page:${p} `, 'm'), pages);

      const serialOut = await runOk('iscsi-inq', ['-e', '1', '-c', String(0x80), url]);
      const m = /^Unit Serial Number:\[(.*)\]$/m.exec(serialOut);
      assert.ok(m, serialOut);
      const wwn = config.storage_objects[0].wwn!;
      assert.equal(normalizeSerial(m[1]), normalizeSerial(wwn), serialOut);

      // LUN 1 has its own serial
      const serial1 = await runOk('iscsi-inq', ['-e', '1', '-c', String(0x80), lunUrl(port, 1)]);
      const m1 = /^Unit Serial Number:\[(.*)\]$/m.exec(serial1);
      assert.ok(m1, serial1);
      assert.equal(normalizeSerial(m1[1]), normalizeSerial(config.storage_objects[1].wwn!), serial1);

      const idOut = await runOk('iscsi-inq', ['-e', '1', '-c', String(0x83), url]);
      assert.match(idOut, /^Page Code:\(0x83\) DEVICE_IDENTIFICATION$/m, idOut);
      // SPC-4 §7.8.6.1: at least one logical-unit designator of type NAA, EUI-64, T10 or SCSI name string.
      assert.match(idOut, /^Association:\(0\) LOGICAL_UNIT\nDesignator Type:\([1238]\) /m, idOut);
      assert.match(idOut, /^Designator Type:\(3\) NAA$/m, idOut);
      // the target port is named (iSCSI: "<iqn>,t,0x<tpgt>" SCSI name string)
      assert.ok(idOut.toLowerCase().includes(TARGET_IQN), idOut);
    });
  });
});

function readCapacity16(out: string): { lastLba: number; blockLength: number; total: number } {
  const lba = /^RETURNED LOGICAL BLOCK ADDRESS:(\d+)$/m.exec(out);
  const len = /^LOGICAL BLOCK LENGTH IN BYTES:(\d+)$/m.exec(out);
  const total = /^Total size:(\d+)$/m.exec(out);
  assert.ok(lba && len && total, out);
  return { lastLba: Number(lba[1]), blockLength: Number(len[1]), total: Number(total[1]) };
}

test('iscsi-readcapacity16 reports the configured size and block count', T, async () => {
  requireTool('iscsi-readcapacity16');
  await withTempDir(async (dir) => {
    const port = await freePort();
    await withTarget(twoLunConfig(dir, port), async () => {
      const rc0 = readCapacity16(await runOk('iscsi-readcapacity16', [lunUrl(port, 0)]));
      assert.deepEqual(rc0, { lastLba: LUN0_SIZE / 512 - 1, blockLength: 512, total: LUN0_SIZE });

      const rc1 = readCapacity16(await runOk('iscsi-readcapacity16', [lunUrl(port, 1)]));
      assert.deepEqual(rc1, { lastLba: LUN1_SIZE / LUN1_BLOCK - 1, blockLength: LUN1_BLOCK, total: LUN1_SIZE });

      const sizeOnly = await runOk('iscsi-readcapacity16', ['-s', lunUrl(port, 0)]);
      assert.equal(sizeOnly.trim(), String(LUN0_SIZE));
    });
  });
});

// SAM-5 §5.9.5 / SPC-4 §6.6.1: INQUIRY to a missing LU answers with peripheral
// qualifier 011b (or is refused); any other command is refused.
test('a LUN that is not mapped is not reachable', T, async () => {
  requireTool('iscsi-inq');
  requireTool('iscsi-readcapacity16');
  await withTempDir(async (dir) => {
    const port = await freePort();
    await withTarget(basicConfig({ dir, port }), async () => {
      const args = [lunUrl(port, 7)];
      const rc = await run('iscsi-readcapacity16', args);
      assert.notEqual(rc.code, 0, describeRun('iscsi-readcapacity16', args, rc));
      assert.doesNotMatch(rc.stdout, /^Total size:/m, describeRun('iscsi-readcapacity16', args, rc));

      const inq = await run('iscsi-inq', args);
      if (inq.code === 0) assert.doesNotMatch(inq.stdout, /^Peripheral Qualifier:CONNECTED$/m, describeRun('iscsi-inq', args, inq));
      assert.equal(inq.timedOut, false, describeRun('iscsi-inq', args, inq));
    });
  });
});
