import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { validateConfig } from '../../src/config/validate.js';
import type { SaveConfig } from '../../src/config/model.js';

const FIXTURE = new URL('../../../test/fixtures/config/lio-saveconfig.json', import.meta.url);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function base(): Json {
  return {
    storage_objects: [
      { plugin: 'fileio', name: 'd0', dev: '/srv/d0.img', size: 1048576, write_back: true, wwn: '11111111-2222-4333-8444-555555555555' },
      { plugin: 'ramdisk', name: 'r0', size: 1048576, wwn: '66666666-2222-4333-8444-555555555555' },
      { plugin: 'block', name: 'b0', dev: '/dev/sdz', readonly: false, write_back: false },
    ],
    targets: [
      {
        fabric: 'iscsi',
        wwn: 'iqn.2025-01.org.example:t1',
        tpgs: [
          {
            tag: 1,
            enable: true,
            attributes: { authentication: 0 },
            parameters: { MaxBurstLength: '262144' },
            portals: [{ ip_address: '0.0.0.0', port: 3260 }],
            luns: [
              { index: 0, storage_object: '/backstores/fileio/d0' },
              { index: 1, storage_object: '/backstores/ramdisk/r0' },
            ],
            node_acls: [
              {
                node_wwn: 'iqn.1994-05.com.redhat:client',
                mapped_luns: [{ index: 0, tpg_lun: 0, write_protect: false }],
              },
            ],
          },
        ],
      },
    ],
    fabric_modules: [],
  };
}

const tpg = (c: Json) => c.targets[0].tpgs[0];

test('the base config of this table is valid', () => {
  const r = validateConfig(base());
  assert.deepEqual(r.ok ? [] : r.errors, []);
});

test('a realistic targetcli-fb saveconfig.json loads as is', () => {
  const json = JSON.parse(readFileSync(FIXTURE, 'utf8'));
  const r = validateConfig(json);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors, null, 1));
  const c: SaveConfig = r.config;
  assert.equal(c.storage_objects.length, 4);
  assert.deepEqual(c.storage_objects.map((s) => `${s.plugin}/${s.name}`), ['fileio/web01', 'block/db01', 'ramdisk/scratch', 'ramdisk/nulldev']);
  assert.equal(c.targets.length, 2);
  assert.equal(c.targets[0].tpgs[0].node_acls[0].chap_mutual_userid, 'target-web');
  assert.equal(c.targets[1].tpgs[1].enable, false);
  assert.equal(c.fabric_modules[0].discovery_enable_auth, true);
  // unknown LIO attributes are kept for the round trip
  assert.equal(c.storage_objects[0].attributes?.submit_type, 0);
  assert.equal(c.storage_objects[0].alua_tpgs?.[0].nonop_delay_msecs, 100);
  // nothing lost: the validated config is the input
  assert.deepEqual(JSON.parse(JSON.stringify(c)), json);
});

test('normalisation: rd_mcp/iblock aliases, enable 1/0, missing lists, missing TPG tags', () => {
  const c = base();
  c.storage_objects[1].plugin = 'rd_mcp';
  c.storage_objects[2].plugin = 'iblock';
  tpg(c).luns[1].storage_object = '/backstores/rd_mcp/r0';
  tpg(c).luns.push({ index: 2, storage_object: '/backstores/iblock/b0' });
  tpg(c).enable = 0;
  c.targets[0].tpgs.push({ portals: [{ ip_address: '10.0.0.1', port: 3260 }] }, { tag: 2 });
  delete c.fabric_modules;
  const r = validateConfig(c);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const t = r.config.targets[0];
  assert.equal(r.config.storage_objects[1].plugin, 'ramdisk');
  assert.equal(r.config.storage_objects[2].plugin, 'block');
  assert.equal(t.tpgs[0].luns[1].storage_object, '/backstores/ramdisk/r0');
  assert.equal(t.tpgs[0].luns[2].storage_object, '/backstores/block/b0');
  assert.equal(t.tpgs[0].enable, false);
  assert.deepEqual(t.tpgs.map((g) => g.tag), [1, 3, 2]);
  assert.equal(t.tpgs[1].enable, true);
  assert.deepEqual(t.tpgs[2].luns, []);
  assert.deepEqual(r.config.fabric_modules, []);
});

const REPLACE = Symbol('replace the whole input');

type Case = [name: string, mutate: (c: Json) => unknown, expected: [path: string, rule: string][]];

const CASES: Case[] = [
  ['root not an object', () => ({ [REPLACE]: [] }), [['', 'type']]],
  ['unknown top-level key', (c) => (c.foo = 1), [['foo', 'unknown-key']]],
  ['storage_objects not a list', (c) => (c.storage_objects = {}), [['storage_objects', 'type'], ['targets[0].tpgs[0].luns[0].storage_object', 'storage-object-missing'], ['targets[0].tpgs[0].luns[1].storage_object', 'storage-object-missing']]],
  ['pscsi plugin', (c) => c.storage_objects.push({ plugin: 'pscsi', name: 'p0', dev: '/dev/sg0' }), [['storage_objects[3].plugin', 'unsupported-plugin']]],
  ['user plugin referenced by a LUN: one error only', (c) => {
    c.storage_objects.push({ plugin: 'user', name: 'u0', size: 4096, config: 'rbd/x' });
    tpg(c).luns.push({ index: 5, storage_object: '/backstores/user/u0' });
  }, [['storage_objects[3].plugin', 'unsupported-plugin']]],
  ['unknown plugin', (c) => (c.storage_objects[0].plugin = 'zfs'), [['storage_objects[0].plugin', 'unsupported-plugin'], ['targets[0].tpgs[0].luns[0].storage_object', 'storage-object-missing']]],
  ['missing plugin', (c) => delete c.storage_objects[0].plugin, [['storage_objects[0].plugin', 'required'], ['targets[0].tpgs[0].luns[0].storage_object', 'storage-object-missing']]],
  ['duplicate storage object name', (c) => c.storage_objects.push({ plugin: 'ramdisk', name: 'r0', size: 512 }), [['storage_objects[3].name', 'duplicate-name']]],
  ['same name under another plugin is fine', (c) => c.storage_objects.push({ plugin: 'ramdisk', name: 'd0', size: 512 }), []],
  ['duplicate storage object wwn', (c) => (c.storage_objects[1].wwn = c.storage_objects[0].wwn.toUpperCase()), [['storage_objects[1].wwn', 'duplicate-wwn']]],
  ['wwn with a space', (c) => (c.storage_objects[0].wwn = 'a b'), [['storage_objects[0].wwn', 'wwn-format']]],
  ['name with a slash', (c) => (c.storage_objects[1].name = 'a/b'), [['storage_objects[1].name', 'so-name'], ['targets[0].tpgs[0].luns[1].storage_object', 'storage-object-missing']]],
  ['fileio size 0', (c) => (c.storage_objects[0].size = 0), [['storage_objects[0].size', 'size']]],
  ['fileio size negative', (c) => (c.storage_objects[0].size = -512), [['storage_objects[0].size', 'size']]],
  ['fileio size not a multiple of 512', (c) => (c.storage_objects[0].size = 1000), [['storage_objects[0].size', 'size-alignment']]],
  ['ramdisk size not a multiple of block_size 4096', (c) => {
    c.storage_objects[1].attributes = { block_size: 4096 };
    c.storage_objects[1].size = 4096 * 3 + 512;
  }, [['storage_objects[1].size', 'size-alignment']]],
  ['ramdisk size missing', (c) => delete c.storage_objects[1].size, [['storage_objects[1].size', 'required']]],
  ['size as a string', (c) => (c.storage_objects[0].size = '1G'), [['storage_objects[0].size', 'type']]],
  ['fileio dev missing', (c) => delete c.storage_objects[0].dev, [['storage_objects[0].dev', 'required']]],
  ['write_back not boolean', (c) => (c.storage_objects[0].write_back = 'yes'), [['storage_objects[0].write_back', 'type']]],
  ['block_size 1024 unsupported', (c) => (c.storage_objects[0].attributes = { block_size: 1024 }), [['storage_objects[0].attributes.block_size', 'block-size']]],
  ['boolean attribute out of range', (c) => (c.storage_objects[0].attributes = { emulate_tpu: 2 }), [['storage_objects[0].attributes.emulate_tpu', 'attribute-value']]],
  ['unknown attribute kept, but must be number or string', (c) => (c.storage_objects[0].attributes = { future_knob: 7, other: [1] }), [['storage_objects[0].attributes.other', 'type']]],
  ['ramdisk with a dev key', (c) => (c.storage_objects[1].dev = '/x'), [['storage_objects[1].dev', 'unknown-key']]],
  ['alua_tpgs entry without tg_pt_gp_id', (c) => (c.storage_objects[0].alua_tpgs = [{ name: 'default_tg_pt_gp' }]), [['storage_objects[0].alua_tpgs[0].tg_pt_gp_id', 'required']]],
  ['loopback fabric', (c) => c.targets.push({ fabric: 'loopback', wwn: 'naa.5001405abcdef012', tpgs: [] }), [['targets[1].fabric', 'unsupported-fabric']]],
  ['target wwn upper-case', (c) => (c.targets[0].wwn = 'iqn.2025-01.org.Example:t1'), [['targets[0].wwn', 'iqn-format']]],
  ['target wwn bad date', (c) => (c.targets[0].wwn = 'iqn.2025-1.org.example:t1'), [['targets[0].wwn', 'iqn-format']]],
  ['target wwn 224 bytes', (c) => (c.targets[0].wwn = 'iqn.2025-01.org.example:' + 'x'.repeat(200)), [['targets[0].wwn', 'name-length']]],
  ['target eui name is fine', (c) => (c.targets[0].wwn = 'eui.0123456789ABCDEF'), []],
  ['target naa name bad', (c) => (c.targets[0].wwn = 'naa.123'), [['targets[0].wwn', 'naa-format']]],
  ['duplicate target', (c) => c.targets.push({ ...c.targets[0], tpgs: [] }), [['targets[1].wwn', 'duplicate-target']]],
  ['tpg tag 0', (c) => (tpg(c).tag = 0), [['targets[0].tpgs[0].tag', 'range']]],
  ['tpg tag 65536', (c) => (tpg(c).tag = 65536), [['targets[0].tpgs[0].tag', 'range']]],
  ['duplicate tpg tag', (c) => c.targets[0].tpgs.push({ tag: 1 }), [['targets[0].tpgs[1].tag', 'duplicate-tag']]],
  ['enable as a string', (c) => (tpg(c).enable = 'true'), [['targets[0].tpgs[0].enable', 'type']]],
  ['lun index 65536', (c) => (tpg(c).luns[1].index = 65536), [['targets[0].tpgs[0].luns[1].index', 'range']]],
  ['lun index 255 and 256 are fine', (c) => {
    tpg(c).luns[0].index = 255;
    tpg(c).luns[1].index = 256;
    tpg(c).node_acls[0].mapped_luns[0].tpg_lun = 256;
  }, []],
  ['duplicate lun index', (c) => (tpg(c).luns[1].index = 0), [['targets[0].tpgs[0].luns[1].index', 'duplicate-lun']]],
  ['malformed storage object path', (c) => (tpg(c).luns[0].storage_object = 'fileio/d0'), [['targets[0].tpgs[0].luns[0].storage_object', 'storage-object-ref']]],
  ['storage object path with extra component', (c) => (tpg(c).luns[0].storage_object = '/backstores/fileio/d0/x'), [['targets[0].tpgs[0].luns[0].storage_object', 'storage-object-ref']]],
  ['storage object missing', (c) => (tpg(c).luns[1].storage_object = '/backstores/ramdisk/nope'), [['targets[0].tpgs[0].luns[1].storage_object', 'storage-object-missing']]],
  ['storage object of the wrong plugin', (c) => (tpg(c).luns[1].storage_object = '/backstores/fileio/r0'), [['targets[0].tpgs[0].luns[1].storage_object', 'storage-object-missing']]],
  ['mapped lun to a missing tpg lun', (c) => (tpg(c).node_acls[0].mapped_luns[0].tpg_lun = 7), [['targets[0].tpgs[0].node_acls[0].mapped_luns[0].tpg_lun', 'tpg-lun-missing']]],
  ['duplicate mapped lun', (c) => tpg(c).node_acls[0].mapped_luns.push({ index: 0, tpg_lun: 1, write_protect: true }), [['targets[0].tpgs[0].node_acls[0].mapped_luns[1].index', 'duplicate-mapped-lun']]],
  ['mapped lun write_protect as a string', (c) => (tpg(c).node_acls[0].mapped_luns[0].write_protect = 'no'), [['targets[0].tpgs[0].node_acls[0].mapped_luns[0].write_protect', 'type']]],
  ['duplicate node acl', (c) => tpg(c).node_acls.push({ node_wwn: 'iqn.1994-05.com.redhat:client', mapped_luns: [] }), [['targets[0].tpgs[0].node_acls[1].node_wwn', 'duplicate-acl']]],
  ['duplicate eui acl differing only in case', (c) => tpg(c).node_acls.push({ node_wwn: 'eui.0123456789abcdef' }, { node_wwn: 'eui.0123456789ABCDEF' }), [['targets[0].tpgs[0].node_acls[2].node_wwn', 'duplicate-acl']]],
  ['acl node_wwn invalid', (c) => (tpg(c).node_acls[0].node_wwn = 'client01'), [['targets[0].tpgs[0].node_acls[0].node_wwn', 'name-format']]],
  ['acl default_erl 1', (c) => (tpg(c).node_acls[0].attributes = { default_erl: 1 }), [['targets[0].tpgs[0].node_acls[0].attributes.default_erl', 'unsupported-erl']]],
  ['portal bad ip', (c) => (tpg(c).portals[0].ip_address = '300.1.1.1'), [['targets[0].tpgs[0].portals[0].ip_address', 'ip-address']]],
  ['portal hostname', (c) => (tpg(c).portals[0].ip_address = 'localhost'), [['targets[0].tpgs[0].portals[0].ip_address', 'ip-address']]],
  ['portal ipv6 forms are fine', (c) => tpg(c).portals.push({ ip_address: '[::0]', port: 3260 }, { ip_address: '::1', port: 3260 }, { ip_address: '[fd00::5]', port: 3261 }), []],
  ['portal port 0', (c) => (tpg(c).portals[0].port = 0), [['targets[0].tpgs[0].portals[0].port', 'range']]],
  ['portal port 65536', (c) => (tpg(c).portals[0].port = 65536), [['targets[0].tpgs[0].portals[0].port', 'range']]],
  ['portal port as a string', (c) => (tpg(c).portals[0].port = '3260'), [['targets[0].tpgs[0].portals[0].port', 'type']]],
  ['portal iser', (c) => (tpg(c).portals[0].iser = true), [['targets[0].tpgs[0].portals[0].iser', 'unsupported-feature']]],
  ['duplicate portal in one tpg', (c) => tpg(c).portals.push({ ip_address: '0.0.0.0', port: 3260 }), [['targets[0].tpgs[0].portals[1]', 'duplicate-portal']]],
  ['duplicate portal across tpgs of one target (ipv6 spellings)', (c) => {
    tpg(c).portals.push({ ip_address: '[::0]', port: 3260 });
    c.targets[0].tpgs.push({ tag: 2, portals: [{ ip_address: '0:0::0', port: 3260 }] });
  }, [['targets[0].tpgs[1].portals[0]', 'duplicate-portal']]],
  ['same portal in two targets is fine (targetcli default)', (c) => c.targets.push({ fabric: 'iscsi', wwn: 'iqn.2025-01.org.example:t2', tpgs: [{ tag: 1, portals: [{ ip_address: '0.0.0.0', port: 3260 }] }] }), []],
  ['tpg chap userid without password', (c) => (tpg(c).chap_userid = 'u'), [['targets[0].tpgs[0].chap_password', 'chap-incomplete']]],
  ['acl chap password without userid', (c) => (tpg(c).node_acls[0].chap_password = 'secret'), [['targets[0].tpgs[0].node_acls[0].chap_userid', 'chap-incomplete']]],
  ['acl mutual without one-way', (c) => Object.assign(tpg(c).node_acls[0], { chap_mutual_userid: 'm', chap_mutual_password: 'mp' }), [['targets[0].tpgs[0].node_acls[0].chap_mutual_userid', 'chap-mutual-without-oneway']]],
  ['acl mutual userid without mutual password', (c) => Object.assign(tpg(c).node_acls[0], { chap_userid: 'u', chap_password: 'p', chap_mutual_userid: 'm' }), [['targets[0].tpgs[0].node_acls[0].chap_mutual_password', 'chap-incomplete']]],
  ['empty chap strings count as unset', (c) => Object.assign(tpg(c), { chap_userid: '', chap_password: '' }), []],
  ['chap userid a number', (c) => Object.assign(tpg(c), { chap_userid: 5, chap_password: 'p' }), [['targets[0].tpgs[0].chap_userid', 'type'], ['targets[0].tpgs[0].chap_userid', 'chap-incomplete']]],
  ['unknown tpg key', (c) => (tpg(c).userid = 'u'), [['targets[0].tpgs[0].userid', 'unknown-key']]],
  ['discovery auth enabled without credentials', (c) => c.fabric_modules.push({ name: 'iscsi', discovery_enable_auth: true }), [['fabric_modules[0].discovery_userid', 'chap-incomplete']]],
  ['discovery mutual without one-way', (c) => c.fabric_modules.push({ name: 'iscsi', discovery_mutual_userid: 'm', discovery_mutual_password: 'p' }), [['fabric_modules[0].discovery_mutual_userid', 'chap-mutual-without-oneway']]],
  ['fabric module other than iscsi', (c) => c.fabric_modules.push({ name: 'srpt' }), [['fabric_modules[0].name', 'unsupported-fabric']]],
  ['parameter HeaderDigest bad value', (c) => (tpg(c).parameters.HeaderDigest = 'CRC32C,MD5'), [['targets[0].tpgs[0].parameters.HeaderDigest', 'parameter-value']]],
  ['parameter DataDigest duplicate value', (c) => (tpg(c).parameters.DataDigest = 'None,None'), [['targets[0].tpgs[0].parameters.DataDigest', 'parameter-value']]],
  ['parameter AuthMethod KRB5 unsupported', (c) => (tpg(c).parameters.AuthMethod = 'KRB5,CHAP'), [['targets[0].tpgs[0].parameters.AuthMethod', 'parameter-value']]],
  ['MaxRecvDataSegmentLength 511', (c) => (tpg(c).parameters.MaxRecvDataSegmentLength = '511'), [['targets[0].tpgs[0].parameters.MaxRecvDataSegmentLength', 'parameter-value']]],
  ['MaxRecvDataSegmentLength 16777216', (c) => (tpg(c).parameters.MaxRecvDataSegmentLength = '16777216'), [['targets[0].tpgs[0].parameters.MaxRecvDataSegmentLength', 'parameter-value']]],
  ['MaxRecvDataSegmentLength bounds 512 and 16777215 are fine', (c) => Object.assign(tpg(c).parameters, { MaxRecvDataSegmentLength: '512', MaxXmitDataSegmentLength: '16777215' }), []],
  ['MaxBurstLength not a number', (c) => (tpg(c).parameters.MaxBurstLength = '256k'), [['targets[0].tpgs[0].parameters.MaxBurstLength', 'parameter-value']]],
  ['FirstBurstLength above MaxBurstLength', (c) => (tpg(c).parameters.FirstBurstLength = '524288'), [['targets[0].tpgs[0].parameters.FirstBurstLength', 'first-burst']]],
  ['MaxBurstLength below the default FirstBurstLength', (c) => (tpg(c).parameters.MaxBurstLength = '32768'), [['targets[0].tpgs[0].parameters.MaxBurstLength', 'first-burst']]],
  ['MaxOutstandingR2T 0', (c) => (tpg(c).parameters.MaxOutstandingR2T = '0'), [['targets[0].tpgs[0].parameters.MaxOutstandingR2T', 'parameter-value']]],
  ['DefaultTime2Wait 3601', (c) => (tpg(c).parameters.DefaultTime2Wait = '3601'), [['targets[0].tpgs[0].parameters.DefaultTime2Wait', 'parameter-value']]],
  ['MaxConnections 0', (c) => (tpg(c).parameters.MaxConnections = '0'), [['targets[0].tpgs[0].parameters.MaxConnections', 'parameter-value']]],
  ['ErrorRecoveryLevel 2', (c) => (tpg(c).parameters.ErrorRecoveryLevel = '2'), [['targets[0].tpgs[0].parameters.ErrorRecoveryLevel', 'unsupported-erl']]],
  ['ErrorRecoveryLevel 3', (c) => (tpg(c).parameters.ErrorRecoveryLevel = '3'), [['targets[0].tpgs[0].parameters.ErrorRecoveryLevel', 'parameter-value']]],
  ['InitialR2T true', (c) => (tpg(c).parameters.InitialR2T = 'true'), [['targets[0].tpgs[0].parameters.InitialR2T', 'parameter-value']]],
  ['IFMarker Yes', (c) => (tpg(c).parameters.IFMarker = 'Yes'), [['targets[0].tpgs[0].parameters.IFMarker', 'unsupported-feature']]],
  ['parameter as a number', (c) => (tpg(c).parameters.MaxBurstLength = 262144), [['targets[0].tpgs[0].parameters.MaxBurstLength', 'type']]],
  ['unknown parameter', (c) => (tpg(c).parameters.MaxBurstLenght = '1'), [['targets[0].tpgs[0].parameters.MaxBurstLenght', 'unknown-parameter']]],
  ['tpg attribute default_erl 2', (c) => (tpg(c).attributes.default_erl = 2), [['targets[0].tpgs[0].attributes.default_erl', 'unsupported-erl']]],
  ['tpg attribute generate_node_acls 2', (c) => (tpg(c).attributes.generate_node_acls = 2), [['targets[0].tpgs[0].attributes.generate_node_acls', 'attribute-value']]],
  ['tsgt settings wrong version', (c) => (c.tsgt = { version: 2 }), [['tsgt.version', 'tsgt-version']]],
  ['tsgt vendor too long', (c) => (c.tsgt = { version: 1, vendor: 'ABCDEFGHI' }), [['tsgt.vendor', 'inquiry-string']]],
  ['tsgt queue_depth 0', (c) => (c.tsgt = { version: 1, queue_depth: 0 }), [['tsgt.queue_depth', 'range']]],
  ['tsgt busy_poll above 10 ms', (c) => (c.tsgt = { version: 1, busy_poll: 10_001 }), [['tsgt.busy_poll', 'range']]],
  ['tsgt busy_poll negative', (c) => (c.tsgt = { version: 1, busy_poll: -1 }), [['tsgt.busy_poll', 'range']]],
  ['tsgt log level', (c) => (c.tsgt = { version: 1, log_level: 'loud' }), [['tsgt.log_level', 'log-level']]],
  ['tsgt unknown key', (c) => (c.tsgt = { version: 1, turbo: true }), [['tsgt.turbo', 'unknown-key']]],
  ['errors are all collected', (c) => {
    c.targets[0].wwn = 'bad';
    tpg(c).tag = 0;
    tpg(c).portals[0].port = 0;
  }, [['targets[0].wwn', 'name-format'], ['targets[0].tpgs[0].tag', 'range'], ['targets[0].tpgs[0].portals[0].port', 'range']]],
];

for (const [name, mutate, expected] of CASES) {
  test(`invalid config table: ${name}`, () => {
    const c = base();
    const replaced = mutate(c) as { [REPLACE]?: unknown } | undefined;
    const input = typeof replaced === 'object' && replaced !== null && REPLACE in replaced ? replaced[REPLACE] : c;
    const r = validateConfig(input);
    const got = r.ok ? [] : r.errors.map((e) => [e.path, e.rule]);
    assert.deepEqual(sortPairs(got), sortPairs(expected));
    if (!r.ok) for (const e of r.errors) assert.ok(e.message.length > 0 && (e.path === '' || e.message.startsWith(e.path)), e.message);
  });
}

function sortPairs(a: unknown[][]): unknown[][] {
  return [...a].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
}

test('secrets never appear in error messages', () => {
  const c = base();
  Object.assign(tpg(c), { chap_password: 'Sup3rS3cret!', chap_mutual_password: 'M0reS3cret!' });
  const r = validateConfig(c);
  assert.equal(r.ok, false);
  for (const e of (r as { errors: { message: string }[] }).errors) {
    assert.doesNotMatch(e.message, /S3cret/);
  }
});

test('property: validateConfig never throws on arbitrary JSON', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const r = validateConfig(v);
      assert.equal(typeof r.ok, 'boolean');
    }),
    { numRuns: 300 },
  );
});

test('property: arbitrary values in any field of a valid config never throw', () => {
  const paths: ((c: Json, v: unknown) => void)[] = [
    (c, v) => (c.storage_objects[0] = v),
    (c, v) => (c.storage_objects[0].attributes = v),
    (c, v) => (c.targets[0].tpgs[0] = v),
    (c, v) => (tpg(c).parameters = v),
    (c, v) => (tpg(c).portals[0] = v),
    (c, v) => (tpg(c).luns[0] = v),
    (c, v) => (tpg(c).node_acls[0] = v),
    (c, v) => (tpg(c).node_acls[0].mapped_luns = v),
    (c, v) => (c.fabric_modules = v),
    (c, v) => (c.tsgt = v),
  ];
  fc.assert(
    fc.property(fc.nat({ max: paths.length - 1 }), fc.jsonValue({ maxDepth: 3 }), (i, v) => {
      const c = base();
      paths[i](c, v);
      const r = validateConfig(c);
      assert.equal(typeof r.ok, 'boolean');
    }),
    { numRuns: 500 },
  );
});
