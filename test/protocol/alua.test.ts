// REPORT TARGET PORT GROUPS gives the same answer through every TPG that
// exports the LU (one port group per TPG, SPC-4 §6.36).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTarget } from '../../src/index.js';
import type { SaveConfig } from '../../src/config/model.js';
import { MiniInitiator } from './mini-initiator.js';
import { freePort, TARGET } from './fixture.js';

const RTPG = Buffer.from([0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 0x04, 0x00, 0, 0]);

test('two TPGs exporting one LU: RTPG lists both groups, identically through each port', async () => {
  const [p1, p2] = [await freePort(), await freePort()];
  const tpg = (tag: number, port: number) => ({
    tag,
    enable: true,
    attributes: { authentication: 0, generate_node_acls: 1, demo_mode_write_protect: 0 },
    parameters: {},
    portals: [{ ip_address: '127.0.0.1', port }],
    luns: [{ index: 0, storage_object: '/backstores/ramdisk/shared' }],
    node_acls: [],
  });
  const config: SaveConfig = {
    storage_objects: [{ plugin: 'ramdisk', name: 'shared', size: 4 * 1024 * 1024, wwn: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee' }],
    targets: [{ fabric: 'iscsi', wwn: TARGET, tpgs: [tpg(1, p1), tpg(2, p2)] }],
    fabric_modules: [],
    tsgt: { version: 1, nop_in_interval: 0 },
  };
  const server = await startTarget(config);
  try {
    const answers: Buffer[] = [];
    for (const port of [p1, p2]) {
      const i = await MiniInitiator.connect(port);
      await i.login({ targetName: TARGET });
      let r = await i.complete(i.command(RTPG, { read: 1024 }));
      if (r.status !== 0) r = await i.complete(i.command(RTPG, { read: 1024 }));
      assert.equal(r.status, 0);
      answers.push(r.data);
      i.close();
    }
    assert.ok(answers[0].equals(answers[1]), 'same answer through both ports');
    const d = answers[0];
    assert.equal(d.readUInt32BE(0), 2 * 12, 'two descriptors of one port each');
    assert.deepEqual([d.readUInt16BE(4 + 2), d.readUInt16BE(16 + 2)], [1, 2], 'group ids = TPG tags');
    assert.deepEqual([d.readUInt16BE(4 + 10), d.readUInt16BE(16 + 10)], [1, 2], 'relative port ids = TPG tags');
  } finally {
    await server.close();
  }
});
