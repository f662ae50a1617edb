import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aclAttribute,
  effectiveTpgParameterStrings,
  effectiveTpgParameters,
  findStorageObject,
  parseStorageObjectRef,
  storageBlockSize,
  storageWriteBack,
  tpgAttribute,
} from '../../src/config/resolve.js';
import { canonicalIp, isWildcard, parseIpLiteral } from '../../src/config/net.js';
import { defaultConfig } from '../../src/config/defaults.js';

test('effectiveTpgParameters: LIO defaults when nothing is configured', () => {
  const p = effectiveTpgParameters({});
  assert.deepEqual(p, {
    AuthMethod: ['CHAP', 'None'],
    HeaderDigest: ['CRC32C', 'None'],
    DataDigest: ['CRC32C', 'None'],
    MaxConnections: 1,
    InitialR2T: true,
    ImmediateData: true,
    MaxRecvDataSegmentLength: 8192,
    MaxXmitDataSegmentLength: 262144,
    MaxBurstLength: 262144,
    FirstBurstLength: 65536,
    DefaultTime2Wait: 2,
    DefaultTime2Retain: 20,
    MaxOutstandingR2T: 1,
    DataPDUInOrder: true,
    DataSequenceInOrder: true,
    ErrorRecoveryLevel: 0,
  });
});

test('effectiveTpgParameters: configured values override, typed', () => {
  const p = effectiveTpgParameters({
    parameters: { HeaderDigest: 'None', MaxRecvDataSegmentLength: '262144', InitialR2T: 'No', TargetAlias: 'web' },
  });
  assert.deepEqual(p.HeaderDigest, ['None']);
  assert.equal(p.MaxRecvDataSegmentLength, 262144);
  assert.equal(p.InitialR2T, false);
  assert.equal(p.TargetAlias, 'web');
  assert.equal(p.ImmediateData, true);
  const s = effectiveTpgParameterStrings({ parameters: { MaxBurstLength: '1048576' } });
  assert.equal(s.MaxBurstLength, '1048576');
  assert.equal(s.FirstBurstLength, '65536');
  assert.equal(s.TargetAlias, undefined);
});

test('tpgAttribute / aclAttribute fall back to LIO defaults', () => {
  assert.equal(tpgAttribute({}, 'authentication'), 0);
  assert.equal(tpgAttribute({}, 'generate_node_acls'), 0);
  assert.equal(tpgAttribute({}, 'demo_mode_write_protect'), 1);
  assert.equal(tpgAttribute({}, 'cache_dynamic_acls'), 0);
  assert.equal(tpgAttribute({}, 'default_cmdsn_depth'), 64);
  assert.equal(tpgAttribute({ attributes: { default_cmdsn_depth: 128 } }, 'default_cmdsn_depth'), 128);
  assert.equal(tpgAttribute({ attributes: { authentication: '1' } }, 'authentication'), 1);
  assert.equal(tpgAttribute({}, 'no_such_thing'), undefined);
  assert.equal(aclAttribute({}, 'nopin_timeout'), 15);
  assert.equal(aclAttribute({ attributes: { nopin_timeout: 5 } }, 'nopin_timeout'), 5);
});

test('parseStorageObjectRef accepts rtslib aliases and refuses malformed paths', () => {
  assert.deepEqual(parseStorageObjectRef('/backstores/fileio/disk0'), { plugin: 'fileio', rawPlugin: 'fileio', name: 'disk0' });
  assert.deepEqual(parseStorageObjectRef('/backstores/rd_mcp/r'), { plugin: 'ramdisk', rawPlugin: 'rd_mcp', name: 'r' });
  assert.deepEqual(parseStorageObjectRef('/backstores/iblock/b'), { plugin: 'block', rawPlugin: 'iblock', name: 'b' });
  for (const bad of ['backstores/fileio/d', '/backstores/fileio', '/backstores/fileio/', '/backstores/fileio/a/b', '/backstore/fileio/a']) {
    assert.equal(parseStorageObjectRef(bad), undefined, bad);
  }
  const c = defaultConfig('/h', 'x');
  assert.equal(findStorageObject(c, '/backstores/fileio/disk0')?.name, 'disk0');
  assert.equal(findStorageObject(c, '/backstores/ramdisk/disk0'), undefined);
  assert.equal(storageBlockSize(c.storage_objects[0]), 512);
  assert.equal(storageWriteBack(c.storage_objects[0]), true);
  assert.equal(storageBlockSize({ plugin: 'ramdisk', name: 'r', size: 4096, attributes: { block_size: 4096 } }), 4096);
});

test('IP literals: bracketed IPv6, canonical forms, wildcards', () => {
  assert.deepEqual(parseIpLiteral('[::0]'), { address: '::0', family: 6 });
  assert.deepEqual(parseIpLiteral('10.1.2.3'), { address: '10.1.2.3', family: 4 });
  for (const bad of ['[10.1.2.3]', '1.2.3', '01.2.3.4', 'fe80::1%eth0', '[::1', 'example.com', '']) {
    assert.equal(parseIpLiteral(bad), undefined, bad);
  }
  assert.equal(canonicalIp('[::0]'), canonicalIp('0:0:0:0:0:0:0:0'));
  assert.equal(canonicalIp('[FD00::0:5]'), canonicalIp('fd00::5'));
  assert.ok(isWildcard('[::0]'));
  assert.ok(isWildcard('0.0.0.0'));
  assert.ok(!isWildcard('127.0.0.1'));
});
