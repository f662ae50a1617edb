// Two network portals on one TPG (IPv4 and IPv6 loopback): both listen, and
// SendTargets reports both TargetAddress values (RFC 7143 §13.8, IPv6 in
// brackets per Appendix C).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeRun, freePort, hasIpv6Loopback, requireTool, run, runOk, withTarget, withTempDir } from './harness.js';
import { TARGET_IQN, basicConfig, lunUrl, portalUrl } from './configs.js';

const T = { timeout: 60_000 };

test('IPv4 + IPv6 portals: both listen and both appear in SendTargets', T, async (t) => {
  requireTool('iscsi-ls');
  requireTool('iscsi-inq');
  const v6 = await hasIpv6Loopback();
  if (!v6) t.diagnostic('::1 cannot be bound on this machine: only the IPv4 portal is checked');
  await withTempDir(async (dir) => {
    const port = await freePort();
    const port6 = v6 ? await freePort('::1') : 0;
    // targetcli writes IPv6 portal addresses in brackets
    const extraPortals = v6 ? [{ ip_address: '[::1]', port: port6 }] : [];
    await withTarget(basicConfig({ dir, port, extraPortals }), async (server) => {
      const hosts = server.listening.map((l) => `${l.host}:${l.port}`).sort();
      assert.deepEqual(hosts, v6 ? [`127.0.0.1:${port}`, `::1:${port6}`].sort() : [`127.0.0.1:${port}`]);

      const via4 = await runOk('iscsi-ls', [portalUrl(port)]);
      assert.ok(via4.includes(`Target:${TARGET_IQN} Portal:127.0.0.1:${port},1`), via4);
      if (!v6) return;
      assert.ok(via4.includes(`Target:${TARGET_IQN} Portal:[::1]:${port6},1`), via4);

      const via6 = await runOk('iscsi-ls', [portalUrl(port6, {}, '::1')]);
      assert.ok(via6.includes(`Portal:[::1]:${port6},1`), via6);
      assert.ok(via6.includes(`Portal:127.0.0.1:${port},1`), via6);

      const inq6 = await runOk('iscsi-inq', [lunUrl(port6, 0, {}, TARGET_IQN, '::1')]);
      assert.match(inq6, /^Vendor:TSGT/m, inq6);
    });
  });
});

// A target is only reachable through the portals of its own TPGs.
test('logging in to a target through another target\'s portal is refused', T, async () => {
  requireTool('iscsi-inq');
  await withTempDir(async (dir) => {
    const port = await freePort();
    const port2 = await freePort();
    const other = `${TARGET_IQN}-other`;
    const config = basicConfig({ dir, port });
    config.storage_objects.push({ plugin: 'ramdisk', name: 'r2', size: 1024 * 1024 });
    config.targets.push({
      fabric: 'iscsi',
      wwn: other,
      tpgs: [
        {
          tag: 1,
          enable: true,
          attributes: { authentication: 0, generate_node_acls: 1, demo_mode_write_protect: 0, cache_dynamic_acls: 1 },
          portals: [{ ip_address: '127.0.0.1', port: port2 }],
          luns: [{ index: 0, storage_object: '/backstores/ramdisk/r2' }],
          node_acls: [],
        },
      ],
    });
    await withTarget(config, async () => {
      const ok = await runOk('iscsi-inq', [lunUrl(port2, 0, {}, other)]);
      assert.match(ok, /^Vendor:TSGT/m, ok);
      const args = [lunUrl(port, 0, {}, other)];
      const r = await run('iscsi-inq', args);
      assert.notEqual(r.code, 0, describeRun('iscsi-inq', args, r));
      assert.doesNotMatch(r.stdout, /^Vendor:/m, describeRun('iscsi-inq', args, r));
    });
  });
});
