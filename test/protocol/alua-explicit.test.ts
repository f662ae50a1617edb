// Explicit ALUA over iSCSI: two TPGs on two portals, each LUN in its own
// configured group (saveconfig.json alua_tpgs / alua_tg_pt_gp_name).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTarget, TargetStartError } from '../../src/index.js';
import type { SaveConfig } from '../../src/config/model.js';
import { parseSense } from '../../src/scsi/sense.js';
import { MiniInitiator } from './mini-initiator.js';
import { freePort, TARGET } from './fixture.js';

const RTPG = Buffer.from([0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 0x04, 0x00, 0, 0]);
const TUR = Buffer.alloc(6);
const READ10 = Buffer.from([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]);

function stpg(descriptors: [state: number, group: number][]): { cdb: Buffer; data: Buffer } {
  const data = Buffer.alloc(4 + 4 * descriptors.length);
  descriptors.forEach(([state, id], i) => {
    data[4 + 4 * i] = state;
    data.writeUInt16BE(id, 4 + 4 * i + 2);
  });
  const cdb = Buffer.from([0xa4, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  cdb.writeUInt32BE(data.length, 6);
  return { cdb, data };
}

function config(p1: number, p2: number, writeMetadata = 0): SaveConfig {
  const tpg = (tag: number, port: number, group: string) => ({
    tag,
    enable: true,
    attributes: { authentication: 0, generate_node_acls: 1, demo_mode_write_protect: 0 },
    parameters: {},
    portals: [{ ip_address: '127.0.0.1', port }],
    luns: [{ index: 0, storage_object: '/backstores/ramdisk/shared', alua_tg_pt_gp_name: group }],
    node_acls: [],
  });
  return {
    storage_objects: [
      {
        plugin: 'ramdisk',
        name: 'shared',
        size: 4 * 1024 * 1024,
        wwn: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
        alua_tpgs: [
          { name: 'default_tg_pt_gp', tg_pt_gp_id: 0 },
          { name: 'site_a', tg_pt_gp_id: 100, alua_access_type: 3, alua_access_state: 0, preferred: 1, alua_write_metadata: writeMetadata },
          { name: 'site_b', tg_pt_gp_id: 200, alua_access_type: 3, alua_access_state: 0, alua_write_metadata: writeMetadata },
        ],
      },
    ],
    targets: [{ fabric: 'iscsi', wwn: TARGET, tpgs: [tpg(1, p1, 'site_a'), tpg(2, p2, 'site_b')] }],
    fabric_modules: [],
    tsgt: { version: 1, nop_in_interval: 0 },
  };
}

async function session(port: number, isid: number): Promise<MiniInitiator> {
  const i = await MiniInitiator.connect(port);
  await i.login({ targetName: TARGET, isid: Buffer.from([0x80, 0, 0, 0, 0x10, isid]) });
  // A new nexus starts clean, but be tolerant of a power-on style UA.
  for (let n = 0; n < 3; n++) if ((await i.complete(i.command(TUR))).status === 0) break;
  return i;
}

function senseOf(r: { status: number; sense: Buffer }): [number, number, number] {
  assert.equal(r.status, 2, 'CHECK CONDITION');
  const s = parseSense(r.sense)!;
  return [s.key, s.asc, s.ascq];
}

/** [group id, state, status, ports] of each RTPG descriptor. */
function groups(d: Buffer): [number, number, number, number[]][] {
  const out: [number, number, number, number[]][] = [];
  for (let off = 4; off < 4 + d.readUInt32BE(0); ) {
    const n = d[off + 7];
    out.push([d.readUInt16BE(off + 2), d[off] & 0x0f, d[off + 5], Array.from({ length: n }, (_, k) => d.readUInt16BE(off + 10 + 4 * k))]);
    off += 8 + 4 * n;
  }
  return out;
}

test('explicit ALUA: same RTPG through both ports; SET TPG through one port puts the other in standby', async () => {
  const [p1, p2] = [await freePort(), await freePort()];
  const server = await startTarget(config(p1, p2));
  const open: MiniInitiator[] = [];
  try {
    const a = await session(p1, 1);
    const a2 = await session(p1, 2);
    const b = await session(p2, 3);
    open.push(a, a2, b);

    const ra = await a.complete(a.command(RTPG, { read: 1024 }));
    const rb = await b.complete(b.command(RTPG, { read: 1024 }));
    assert.equal(ra.status, 0);
    assert.ok(ra.data.equals(rb.data), 'the same answer through both ports');
    // default_tg_pt_gp is configured, so it is listed (first, with no ports), as LIO lists it.
    assert.deepEqual(groups(ra.data), [[0, 0, 0, []], [100, 0, 0, [1]], [200, 0, 0, [2]]]);
    assert.deepEqual([ra.data[4] & 0x80, ra.data[12] & 0x80, ra.data[24] & 0x80], [0, 0x80, 0], 'only site_a preferred');
    const inquiry = await a.complete(a.command(Buffer.from([0x12, 0, 0, 0, 96, 0]), { read: 96 }));
    assert.equal(inquiry.data[5] & 0x30, 0x30, 'TPGS: implicit and explicit');

    const set = stpg([[0x02, 200]]);
    const r = await a.complete(a.command(set.cdb, { write: set.data, immediate: set.data }), set.data);
    assert.equal(r.status, 0, `SET TARGET PORT GROUPS: sense ${r.sense.toString('hex')}`);

    // The other nexus through the same port is told, then works.
    assert.deepEqual(senseOf(await a2.complete(a2.command(TUR))), [6, 0x2a, 0x06]);
    assert.equal((await a2.complete(a2.command(READ10, { read: 512 }))).status, 0);
    // Through the standby port: the unit attention first, then 04/0B for media access; RTPG still answers.
    assert.deepEqual(senseOf(await b.complete(b.command(TUR))), [6, 0x2a, 0x06]);
    assert.deepEqual(senseOf(await b.complete(b.command(TUR))), [2, 0x04, 0x0b]);
    assert.deepEqual(senseOf(await b.complete(b.command(READ10, { read: 512 }))), [2, 0x04, 0x0b]);
    const after = await b.complete(b.command(RTPG, { read: 1024 }));
    assert.equal(after.status, 0);
    assert.ok(after.data.equals((await a.complete(a.command(RTPG, { read: 1024 }))).data), 'still the same answer through both ports');
    assert.deepEqual(groups(after.data).slice(-2), [[100, 0, 0, [1]], [200, 2, 1, [2]]], 'standby, altered by SET TARGET PORT GROUPS');
    // The sender saw no unit attention.
    assert.equal((await a.complete(a.command(TUR))).status, 0);
  } finally {
    for (const i of open) i.close();
    await server.close();
  }
});

test('alua_write_metadata=1: a state set by SET TARGET PORT GROUPS is there after a restart', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'tsgt-alua-'));
  const [p1, p2] = [await freePort(), await freePort()];
  try {
    let server = await startTarget(config(p1, p2, 1), { stateDir });
    let a = await session(p1, 1);
    const set = stpg([[0x01, 100]]);
    assert.equal((await a.complete(a.command(set.cdb, { write: set.data, immediate: set.data }), set.data)).status, 0);
    a.close();
    await server.close();
    assert.ok((await readdir(join(stateDir, 'alua'))).some((f) => f.startsWith('tpgs_')), 'metadata written');

    server = await startTarget(config(p1, p2, 1), { stateDir });
    a = await session(p1, 1);
    const r = await a.complete(a.command(RTPG, { read: 1024 }));
    assert.deepEqual(groups(r.data).slice(-2).map((g) => [g[0], g[1], g[2]]), [[100, 1, 1], [200, 0, 0]]);
    a.close();
    await server.close();
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
});

test('an invalid ALUA configuration starts nothing', async () => {
  const [p1, p2] = [await freePort(), await freePort()];
  const bad = config(p1, p2);
  bad.targets[0].tpgs[1].luns[0].alua_tg_pt_gp_name = 'site_c';
  await assert.rejects(startTarget(bad), (e: unknown) => {
    assert.ok(e instanceof TargetStartError);
    assert.deepEqual(e.errors.map((x) => [x.path, x.rule]), [['targets[0].tpgs[1].luns[0].alua_tg_pt_gp_name', 'alua-group-missing']]);
    return true;
  });
  // Nothing listens on either portal.
  await assert.rejects(MiniInitiator.connect(p1));
});
