// CHAP (RFC 7143 §12.1.3, RFC 1994) with libiscsi as the initiator: one-way
// and mutual at the TPG (demo mode) and node-ACL level, wrong secrets, an
// initiator without credentials against `authentication: 1`, and discovery
// session authentication (fabric_modules[iscsi].discovery_*).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeRun, freePort, requireTool, run, runOk, withTarget, withTempDir, type RunResult } from './harness.js';
import { TARGET_IQN, basicConfig, lunUrl, portalUrl, tpgOf, type UrlAuth } from './configs.js';
import type { SaveConfig } from '../../src/index.js';

const T = { timeout: 60_000 };

// ≥ 12 bytes (RFC 7143 §12.1.3 lets targets refuse shorter secrets); no URL specials.
const USER = 'alice';
const SECRET = 'InitiatorSecret1';
const TARGET_USER = 'tsgt-target';
const TARGET_SECRET = 'TargetSecret2024';
const INITIATOR_A = 'iqn.2025-01.org.tsgt:initiator-a';

function chapConfig(dir: string, port: number, mutual: boolean): SaveConfig {
  const config = basicConfig({ dir, port, tpgAttributes: { authentication: 1 } });
  const tpg = tpgOf(config);
  tpg.chap_userid = USER;
  tpg.chap_password = SECRET;
  if (mutual) {
    tpg.chap_mutual_userid = TARGET_USER;
    tpg.chap_mutual_password = TARGET_SECRET;
  }
  return config;
}

async function inq(port: number, auth: UrlAuth, initiator?: string): Promise<{ r: RunResult; text: string }> {
  const args = [...(initiator ? ['-i', initiator] : []), lunUrl(port, 0, auth)];
  const r = await run('iscsi-inq', args, { timeoutMs: 30_000 });
  return { r, text: describeRun('iscsi-inq', args, r) };
}

function assertLoggedIn(x: { r: RunResult; text: string }): void {
  assert.equal(x.r.code, 0, x.text);
  assert.match(x.r.stdout, /^Vendor:TSGT/m, x.text);
}

function assertDenied(x: { r: RunResult; text: string }): void {
  assert.equal(x.r.timedOut, false, x.text);
  assert.notEqual(x.r.code, 0, x.text);
  assert.doesNotMatch(x.r.stdout, /^Vendor:/m, x.text);
  assert.match(x.r.stdout + x.r.stderr, /login failed|failed to log ?in|authentication/i, x.text);
}

test('CHAP one-way (TPG, demo mode): right secret logs in, wrong secret and no secret are refused', T, async () => {
  requireTool('iscsi-inq');
  await withTempDir(async (dir) => {
    const port = await freePort();
    await withTarget(chapConfig(dir, port, false), async () => {
      assertLoggedIn(await inq(port, { user: USER, password: SECRET }));
      assertDenied(await inq(port, { user: USER, password: 'WrongSecret12345' }));
      assertDenied(await inq(port, { user: 'mallory', password: SECRET }));
      assertDenied(await inq(port, {}));
    });
  });
});

test('CHAP mutual: target proves its secret; a wrong target secret is refused by the initiator', T, async () => {
  requireTool('iscsi-inq');
  await withTempDir(async (dir) => {
    const port = await freePort();
    await withTarget(chapConfig(dir, port, true), async () => {
      const good = { user: USER, password: SECRET, targetUser: TARGET_USER, targetPassword: TARGET_SECRET };
      assertLoggedIn(await inq(port, good));
      // libiscsi checks the target's CHAP_R against target_password and aborts the login
      const bad = await inq(port, { ...good, targetPassword: 'NotTheTargetSecret' });
      assert.notEqual(bad.r.code, 0, bad.text);
      assert.doesNotMatch(bad.r.stdout, /^Vendor:/m, bad.text);
      assertDenied(await inq(port, { ...good, password: 'WrongSecret12345' }));
    });
  });
});

test('authentication: 1 without any configured or offered credentials is denied', T, async () => {
  requireTool('iscsi-inq');
  await withTempDir(async (dir) => {
    const port = await freePort();
    await withTarget(basicConfig({ dir, port, tpgAttributes: { authentication: 1 } }), async () => {
      assertDenied(await inq(port, {}));
      // offering credentials the target does not know does not help either
      assertDenied(await inq(port, { user: USER, password: SECRET }));
    });
  });
});

test('authentication: 0 admits an initiator without credentials', T, async () => {
  requireTool('iscsi-inq');
  await withTempDir(async (dir) => {
    const port = await freePort();
    await withTarget(basicConfig({ dir, port }), async () => {
      assertLoggedIn(await inq(port, {}));
    });
  });
});

test('CHAP on an explicit node ACL (one-way and mutual)', T, async () => {
  requireTool('iscsi-inq');
  await withTempDir(async (dir) => {
    const port = await freePort();
    const config = basicConfig({ dir, port, tpgAttributes: { authentication: 1, generate_node_acls: 0 } });
    tpgOf(config).node_acls.push({
      node_wwn: INITIATOR_A,
      chap_userid: USER,
      chap_password: SECRET,
      chap_mutual_userid: TARGET_USER,
      chap_mutual_password: TARGET_SECRET,
      mapped_luns: [{ index: 0, tpg_lun: 0, write_protect: false }],
    });
    await withTarget(config, async () => {
      assertLoggedIn(await inq(port, { user: USER, password: SECRET }, INITIATOR_A));
      assertLoggedIn(await inq(port, { user: USER, password: SECRET, targetUser: TARGET_USER, targetPassword: TARGET_SECRET }, INITIATOR_A));
      assertDenied(await inq(port, { user: USER, password: 'WrongSecret12345' }, INITIATOR_A));
      assertDenied(await inq(port, {}, INITIATOR_A));
    });
  });
});

function discoveryConfig(dir: string, port: number, mutual: boolean): SaveConfig {
  const config = basicConfig({ dir, port });
  config.fabric_modules.push({
    name: 'iscsi',
    discovery_enable_auth: true,
    discovery_userid: USER,
    discovery_password: SECRET,
    ...(mutual ? { discovery_mutual_userid: TARGET_USER, discovery_mutual_password: TARGET_SECRET } : {}),
  });
  return config;
}

async function ls(port: number, auth: UrlAuth): Promise<{ r: RunResult; text: string }> {
  const args = [portalUrl(port, auth)];
  const r = await run('iscsi-ls', args, { timeoutMs: 30_000 });
  return { r, text: describeRun('iscsi-ls', args, r) };
}

const TARGET_LINE = new RegExp(`^Target:${TARGET_IQN.replace(/\./g, '\\.')} Portal:`, 'm');

test('discovery CHAP: SendTargets needs the discovery secret', T, async () => {
  requireTool('iscsi-ls');
  requireTool('iscsi-inq');
  await withTempDir(async (dir) => {
    const port = await freePort();
    await withTarget(discoveryConfig(dir, port, false), async () => {
      const ok = await ls(port, { user: USER, password: SECRET });
      assert.equal(ok.r.code, 0, ok.text);
      assert.match(ok.r.stdout, TARGET_LINE, ok.text);

      for (const auth of [{}, { user: USER, password: 'WrongSecret12345' }]) {
        const no = await ls(port, auth);
        assert.equal(no.r.timedOut, false, no.text);
        assert.notEqual(no.r.code, 0, no.text);
        assert.doesNotMatch(no.r.stdout, TARGET_LINE, no.text);
      }

      // discovery auth does not leak into normal sessions: the TPG is still open (authentication 0)
      const normal = await runOk('iscsi-inq', [lunUrl(port, 0)]);
      assert.match(normal, /^Vendor:TSGT/m);
    });
  });
});

test('discovery CHAP mutual', T, async () => {
  requireTool('iscsi-ls');
  await withTempDir(async (dir) => {
    const port = await freePort();
    await withTarget(discoveryConfig(dir, port, true), async () => {
      const good = { user: USER, password: SECRET, targetUser: TARGET_USER, targetPassword: TARGET_SECRET };
      const ok = await ls(port, good);
      assert.equal(ok.r.code, 0, ok.text);
      assert.match(ok.r.stdout, TARGET_LINE, ok.text);

      const bad = await ls(port, { ...good, targetPassword: 'NotTheTargetSecret' });
      assert.notEqual(bad.r.code, 0, bad.text);
      assert.doesNotMatch(bad.r.stdout, TARGET_LINE, bad.text);
    });
  });
});
