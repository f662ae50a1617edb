// The `tsgt serve` command as a user runs it: a config file, the first-run
// default under TSGT_HOME, SIGTERM shutdown, and a refused bad config.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, repoPath, requireTool, run, runOk, spawnCollect, withTempDir, type Spawned } from './harness.js';
import { TARGET_IQN, basicConfig, portalUrl } from './configs.js';
import type { SaveConfig } from '../../src/index.js';

const MAIN = repoPath('dist/src/cli/main.js');
const T = { timeout: 60_000 };
const START_MS = 15_000;
const STOP_MS = 5_000;

function serve(args: string[], env: NodeJS.ProcessEnv = process.env): Spawned {
  return spawnCollect(process.execPath, [MAIN, 'serve', ...args], { env });
}

async function stopWithSigterm(p: Spawned): Promise<void> {
  try {
    p.child.kill('SIGTERM');
    const { code, signal } = await p.exited(STOP_MS);
    assert.equal(signal, null, `killed by ${signal}\n${p.stderr()}`);
    assert.equal(code, 0, `exit ${code} after SIGTERM\nstdout:\n${p.stdout()}\nstderr:\n${p.stderr()}`);
  } finally {
    p.kill();
  }
}

test('tsgt serve --config FILE: serves, answers iscsi-ls, exits 0 on SIGTERM', T, async () => {
  requireTool('iscsi-ls');
  await withTempDir(async (dir) => {
    const port = await freePort();
    const file = join(dir, 'saveconfig.json');
    await writeFile(file, JSON.stringify(basicConfig({ dir, port }), null, 2));
    const p = serve(['--config', file]);
    try {
      await p.waitFor(/tsgt serving/, START_MS);
      await p.waitFor(new RegExp(`iscsi://127\\.0\\.0\\.1:${port}/${TARGET_IQN.replace(/\./g, '\\.')}/0`), 2_000);
      const out = await runOk('iscsi-ls', ['-s', portalUrl(port)]);
      assert.ok(out.includes(`Target:${TARGET_IQN} Portal:127.0.0.1:${port},1`), out);
      assert.match(out, /^Lun:0\s+Type:DIRECT_ACCESS/m, out);
      await stopWithSigterm(p);
    } finally {
      p.kill();
    }
  });
});

function bannerFor(port: number, iqn: string): RegExp[] {
  const e = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return [
    new RegExp(`iscsiadm -m discovery -t sendtargets -p 127\\.0\\.0\\.1:${port}`),
    new RegExp(`iscsiadm -m node -T ${e(iqn)} -p 127\\.0\\.0\\.1:${port} --login`),
    new RegExp(`iscsi://127\\.0\\.0\\.1:${port}/${e(iqn)}/0`),
  ];
}

test('TSGT_HOME first run writes the default saveconfig.json and prints iscsiadm lines', { timeout: 90_000 }, async (t) => {
  requireTool('iscsi-ls');
  await withTempDir(async (home) => {
    const env = { ...process.env, TSGT_HOME: home };
    const file = join(home, 'saveconfig.json');

    // 1) the real first run, on the default portal 127.0.0.1:3260
    const first = serve([], env);
    let started: boolean;
    try {
      started = (await first.waitForOrExit(/tsgt serving/, START_MS)) !== null;
      t.diagnostic(started ? 'port 3260 was free: the first run served on it' : 'port 3260 is busy here: checked the clean start failure');
      if (started) {
        await first.waitFor(/Wrote the default configuration to /, 2_000);
        await stopWithSigterm(first);
      } else {
        // port 3260 taken on this machine: the start fails cleanly, naming the portal
        const { code } = await first.exited(1_000);
        assert.equal(code, 1, first.stderr());
        assert.match(first.stderr(), /cannot (start|listen)[\s\S]*3260/, first.stderr());
      }
    } finally {
      first.kill();
    }

    const saved = JSON.parse(await readFile(file, 'utf8')) as SaveConfig;
    assert.equal(saved.storage_objects.length, 1);
    const so = saved.storage_objects[0];
    assert.equal(so.plugin, 'fileio');
    assert.equal(so.plugin === 'fileio' ? so.dev : '', join(home, 'disks', 'disk0.img'));
    assert.equal(so.plugin === 'fileio' ? so.size : 0, 1024 ** 3);
    assert.match(so.wwn ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(saved.targets.length, 1);
    const target = saved.targets[0];
    assert.match(target.wwn, /^iqn\.2025-01\.org\.tsgt:[a-z0-9.-]+$/);
    const tpg = target.tpgs[0];
    assert.equal(tpg.enable, true);
    assert.deepEqual(
      tpg.portals.map((p) => [p.ip_address, p.port]),
      [['127.0.0.1', 3260]],
    );
    assert.equal(tpg.attributes?.generate_node_acls, 1);
    assert.equal(tpg.attributes?.authentication, 0);
    assert.deepEqual(tpg.luns.map((l) => [l.index, l.storage_object]), [[0, '/backstores/fileio/disk0']]);
    if (started) {
      // the disk is created sparse: full apparent size, (almost) no blocks
      const st = await stat(join(home, 'disks', 'disk0.img'));
      assert.equal(st.size, 1024 ** 3);
      assert.ok(st.blocks * 512 < 64 * 1024 * 1024, `disk0.img is not sparse (${st.blocks} blocks)`);
    }

    // 2) second run from the same TSGT_HOME on a free port: no rewrite, banner, iSCSI works
    const port = await freePort();
    tpg.portals[0].port = port;
    await writeFile(file, JSON.stringify(saved, null, 2));
    const second = serve([], env);
    try {
      await second.waitFor(/tsgt serving/, START_MS);
      for (const re of bannerFor(port, target.wwn)) await second.waitFor(re, 2_000);
      assert.doesNotMatch(second.stdout(), /Wrote the default configuration/, second.stdout());
      const out = await runOk('iscsi-ls', ['-s', portalUrl(port)]);
      assert.ok(out.includes(`Target:${target.wwn} Portal:127.0.0.1:${port},1`), out);
      assert.match(out, /^Lun:0\s+Type:DIRECT_ACCESS \(Size:102[34]M\)$/m, out);
      await stopWithSigterm(second);
    } finally {
      second.kill();
    }
    // the running target did not rewrite the user's file
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), saved);
  });
});

test('tsgt serve refuses an invalid config with exit 1 and names the problem', T, async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'bad.json');
    const config = basicConfig({ dir, port: 3260 }) as unknown as { targets: { tpgs: { luns: { storage_object: string }[] }[] }[] };
    config.targets[0].tpgs[0].luns[0].storage_object = '/backstores/fileio/missing';
    await writeFile(file, JSON.stringify(config));
    const r = await run(process.execPath, [MAIN, 'serve', '--config', file], { timeoutMs: 15_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /not a valid configuration/, r.stderr);
    assert.match(r.stderr, /targets\[0\]\.tpgs\[0\]\.luns\[0\]/, r.stderr);
    assert.doesNotMatch(r.stdout, /tsgt serving/, r.stdout);
  });
});
