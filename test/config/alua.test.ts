// ALUA groups in saveconfig.json: validation rules, resolution into target
// port groups and ports, and the metadata store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/validate.js';
import { storageObjectAlua } from '../../src/config/alua.js';
import { fileAluaStore } from '../../src/config/alua-store.js';
import type { SaveConfig } from '../../src/config/model.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const T = 'iqn.2025-01.org.example:t1';

function tpg(tag: number, group: string | null | undefined, enable = true): Json {
  const lun: Json = { index: 0, storage_object: '/backstores/ramdisk/r0' };
  if (group !== undefined) lun.alua_tg_pt_gp_name = group;
  return { tag, enable, portals: [{ ip_address: '127.0.0.1', port: 3260 + tag }], luns: [lun], node_acls: [] };
}

function base(): Json {
  return {
    storage_objects: [
      {
        plugin: 'ramdisk',
        name: 'r0',
        size: 1048576,
        wwn: '66666666-2222-4333-8444-555555555555',
        alua_tpgs: [
          { name: 'default_tg_pt_gp', tg_pt_gp_id: 0, alua_access_type: 3, alua_access_state: 0 },
          { name: 'east', tg_pt_gp_id: 10, alua_access_type: 2, alua_access_state: 0, preferred: 1, implicit_trans_secs: 5 },
          { name: 'west', tg_pt_gp_id: 20, alua_access_type: 3, alua_access_state: 2, alua_support_unavailable: 0, alua_write_metadata: 1 },
        ],
      },
    ],
    targets: [{ fabric: 'iscsi', wwn: T, tpgs: [tpg(1, 'east'), tpg(2, 'west')] }],
    fabric_modules: [],
  };
}

const groups = (c: Json) => c.storage_objects[0].alua_tpgs;
const luns = (c: Json, i: number) => c.targets[0].tpgs[i].luns;

function errorsOf(c: Json): [string, string][] {
  const r = validateConfig(c);
  return r.ok ? [] : r.errors.map((e) => [e.path, e.rule]);
}

test('the base ALUA config is valid', () => {
  assert.deepEqual(errorsOf(base()), []);
});

const CASES: [string, (c: Json) => void, [string, string][]][] = [
  ['duplicate group name', (c) => groups(c).push({ name: 'east', tg_pt_gp_id: 11 }), [['storage_objects[0].alua_tpgs[3].name', 'duplicate-alua-group']]],
  ['duplicate group id', (c) => (groups(c)[2].tg_pt_gp_id = 10), [['storage_objects[0].alua_tpgs[2].tg_pt_gp_id', 'duplicate-alua-group-id']]],
  ['id 0 of an unlisted default_tg_pt_gp', (c) => { groups(c).shift(); groups(c)[0].tg_pt_gp_id = 0; }, [['storage_objects[0].alua_tpgs[0].tg_pt_gp_id', 'duplicate-alua-group-id']]],
  ['id above 65535', (c) => (groups(c)[1].tg_pt_gp_id = 65536), [['storage_objects[0].alua_tpgs[1].tg_pt_gp_id', 'range'], ['targets[0].tpgs[0].luns[0].alua_tg_pt_gp_name', 'alua-group-missing']]],
  ['negative id', (c) => (groups(c)[1].tg_pt_gp_id = -1), [['storage_objects[0].alua_tpgs[1].tg_pt_gp_id', 'range'], ['targets[0].tpgs[0].luns[0].alua_tg_pt_gp_name', 'alua-group-missing']]],
  ['name with a slash', (c) => (groups(c)[1].name = 'a/b'), [['storage_objects[0].alua_tpgs[1].name', 'alua-group-name'], ['targets[0].tpgs[0].luns[0].alua_tg_pt_gp_name', 'alua-group-missing']]],
  ['access type 4', (c) => (groups(c)[1].alua_access_type = 4), [['storage_objects[0].alua_tpgs[1].alua_access_type', 'range']]],
  ['access state LBA dependent', (c) => (groups(c)[1].alua_access_state = 4), [['storage_objects[0].alua_tpgs[1].alua_access_state', 'alua-state']]],
  ['access state 16', (c) => (groups(c)[1].alua_access_state = 16), [['storage_objects[0].alua_tpgs[1].alua_access_state', 'alua-state']]],
  ['access state as a string', (c) => (groups(c)[1].alua_access_state = 'standby'), [['storage_objects[0].alua_tpgs[1].alua_access_state', 'type']]],
  ['unavailable without alua_support_unavailable', (c) => (groups(c)[2].alua_access_state = 3), [['storage_objects[0].alua_tpgs[2].alua_access_state', 'alua-state-unsupported']]],
  ['standby without alua_support_standby', (c) => (groups(c)[2].alua_support_standby = 0), [['storage_objects[0].alua_tpgs[2].alua_access_state', 'alua-state-unsupported']]],
  ['access status 3', (c) => (groups(c)[1].alua_access_status = 3), [['storage_objects[0].alua_tpgs[1].alua_access_status', 'range']]],
  ['support flag 2', (c) => (groups(c)[1].alua_support_offline = 2), [['storage_objects[0].alua_tpgs[1].alua_support_offline', 'range']]],
  ['preferred 2', (c) => (groups(c)[1].preferred = 2), [['storage_objects[0].alua_tpgs[1].preferred', 'range']]],
  ['implicit_trans_secs 256', (c) => (groups(c)[1].implicit_trans_secs = 256), [['storage_objects[0].alua_tpgs[1].implicit_trans_secs', 'range']]],
  ['nonop_delay_msecs above LIO maximum', (c) => (groups(c)[1].nonop_delay_msecs = 10001), [['storage_objects[0].alua_tpgs[1].nonop_delay_msecs', 'range']]],
  ['trans_delay_msecs above LIO maximum', (c) => (groups(c)[1].trans_delay_msecs = 30001), [['storage_objects[0].alua_tpgs[1].trans_delay_msecs', 'range']]],
  ['LUN names a group its storage object lacks', (c) => (luns(c, 1)[0].alua_tg_pt_gp_name = 'north'), [['targets[0].tpgs[1].luns[0].alua_tg_pt_gp_name', 'alua-group-missing']]],
  [
    'two LUNs of one TPG put one storage object in two groups',
    (c) => luns(c, 0).push({ index: 1, storage_object: '/backstores/ramdisk/r0', alua_tg_pt_gp_name: 'west' }),
    [['targets[0].tpgs[0].luns[1].alua_tg_pt_gp_name', 'alua-group-conflict']],
  ],
];

for (const [what, mutate, expected] of CASES) {
  test(`ALUA config rule: ${what}`, () => {
    const c = base();
    mutate(c);
    const r = validateConfig(c);
    assert.equal(r.ok, false, 'refused as a whole: no config is returned');
    assert.deepEqual(errorsOf(c), expected);
  });
}

test('default_tg_pt_gp needs no entry; null and absent group names mean it', () => {
  const c = base();
  groups(c).shift();
  c.targets[0].tpgs.push(tpg(3, null), tpg(4, undefined), tpg(5, 'default_tg_pt_gp'));
  assert.deepEqual(errorsOf(c), []);
});

test('the round trip keeps every ALUA key as written', () => {
  const c = base();
  groups(c)[1].nonop_delay_msecs = 100;
  groups(c)[1].alua_support_lba_dependent = 0;
  const r = validateConfig(c);
  assert.ok(r.ok);
  assert.deepEqual(JSON.parse(JSON.stringify(r.config.storage_objects[0].alua_tpgs)), groups(c));
});

function valid(c: Json): SaveConfig {
  const r = validateConfig(c);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return r.config;
}

test('no group besides default_tg_pt_gp: the default model (undefined)', () => {
  const c = base();
  groups(c).splice(1, 2);
  c.targets[0].tpgs = [tpg(1, 'default_tg_pt_gp'), tpg(2, null)];
  const config = valid(c);
  assert.equal(storageObjectAlua(config, config.storage_objects[0]), undefined);
  delete c.storage_objects[0].alua_tpgs;
  const bare = valid(c);
  assert.equal(storageObjectAlua(bare, bare.storage_objects[0]), undefined);
});

test('configured groups resolve with LIO defaults; ports are the enabled TPGs, in the group their LUN names', () => {
  const c = base();
  c.targets[0].tpgs.push(tpg(3, 'east', false), tpg(4, null));
  const config = valid(c);
  const a = storageObjectAlua(config, config.storage_objects[0])!;
  assert.deepEqual(
    a.groups.map((g) => [g.id, g.name, g.state, g.implicit, g.explicit, g.preferred, g.supportedStates, g.implicitTransitionSeconds, g.persistent]),
    [
      [0, 'default_tg_pt_gp', 0, true, true, false, 0xcf, 0, false],
      [10, 'east', 0, false, true, true, 0xcf, 5, false],
      [20, 'west', 2, true, true, false, 0xc7, 0, true],
    ],
  );
  assert.deepEqual(a.ports, [
    { targetName: T, relativeTargetPortId: 1, groupId: 10 },
    { targetName: T, relativeTargetPortId: 2, groupId: 20 },
    { targetName: T, relativeTargetPortId: 4, groupId: 0 },
  ]);
});

test('an unlisted default_tg_pt_gp appears only when a port is in it', () => {
  const c = base();
  groups(c).shift();
  const without = valid(c);
  assert.deepEqual(storageObjectAlua(without, without.storage_objects[0])!.groups.map((g) => g.id), [10, 20]);
  c.targets[0].tpgs.push(tpg(3, null));
  const withPort = valid(c);
  const a = storageObjectAlua(withPort, withPort.storage_objects[0])!;
  assert.deepEqual(a.groups.map((g) => [g.id, g.explicit, g.supportedStates]), [[0, true, 0xcf], [10, true, 0xcf], [20, true, 0xc7]]);
});

test('fileAluaStore: atomic save, load back; unreadable files are reported and ignored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgt-alua-'));
  try {
    const messages: string[] = [];
    const store = fileAluaStore(join(dir, 'alua'), 'aaaa-bbbb/../x', (m) => messages.push(m));
    assert.equal(store.load(), undefined, 'nothing saved yet');
    const state = { version: 1 as const, groups: [{ id: 20, state: 2, status: 1 }] };
    await store.save(state);
    assert.deepEqual(store.load(), state);
    assert.deepEqual(messages, []);
    const file = join(dir, 'alua', 'tpgs_aaaa-bbbb____x.json');
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), state, 'the wwn is made a safe file name');
    writeFileSync(file, '{"version":1,"groups":[{"id":"x"}]}');
    assert.equal(store.load(), undefined);
    writeFileSync(file, 'not json');
    assert.equal(store.load(), undefined);
    assert.equal(messages.length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
