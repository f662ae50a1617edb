import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { defaultConfig, defaultTargetName, sanitizeHostname } from '../../src/config/defaults.js';
import { validateConfig } from '../../src/config/validate.js';
import { validateIqn } from '../../src/config/names.js';
import { UUID_WWN, generateWwn, unitSerialFromWwn } from '../../src/config/wwn.js';
import { tpgAttribute } from '../../src/config/resolve.js';
import { tsgtSettings } from '../../src/config/model.js';

test('the default config is valid and has the documented shape', () => {
  const c = defaultConfig('/var/lib/tsgt', 'Storage_Box.example.com');
  const r = validateConfig(c);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.equal(c.targets[0].wwn, 'iqn.2025-01.org.tsgt:storage-box.example.com');
  const so = c.storage_objects[0];
  assert.equal(so.plugin, 'fileio');
  assert.equal(so.name, 'disk0');
  assert.equal(so.plugin === 'fileio' && so.dev, '/var/lib/tsgt/disks/disk0.img');
  assert.equal(so.plugin === 'fileio' && so.size, 1024 ** 3);
  assert.equal(so.plugin === 'fileio' && so.write_back, true);
  assert.match(so.wwn ?? '', UUID_WWN);
  const tpg = c.targets[0].tpgs[0];
  assert.equal(tpg.tag, 1);
  assert.equal(tpg.enable, true);
  assert.deepEqual(tpg.portals, [{ ip_address: '127.0.0.1', port: 3260, iser: false, offload: false }]);
  assert.deepEqual(tpg.luns, [{ index: 0, storage_object: '/backstores/fileio/disk0' }]);
  assert.equal(tpgAttribute(tpg, 'authentication'), 0);
  assert.equal(tpgAttribute(tpg, 'generate_node_acls'), 1);
  assert.equal(tpgAttribute(tpg, 'demo_mode_write_protect'), 0);
  assert.equal(tpgAttribute(tpg, 'cache_dynamic_acls'), 1);
  assert.equal(tsgtSettings(c).queue_depth, 128);
});

test('each default config gets a fresh wwn', () => {
  const a = defaultConfig('/h', 'x').storage_objects[0].wwn;
  const b = defaultConfig('/h', 'x').storage_objects[0].wwn;
  assert.notEqual(a, b);
});

test('property: any hostname yields a valid target IQN', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300, unit: 'grapheme' }), (host) => {
      const name = defaultTargetName(host);
      assert.equal(validateIqn(name), undefined, name);
      assert.ok(sanitizeHostname(host).length > 0);
    }),
  );
  assert.equal(defaultTargetName(''), 'iqn.2025-01.org.tsgt:localhost');
  assert.equal(defaultTargetName('---'), 'iqn.2025-01.org.tsgt:localhost');
});

test('generateWwn is a UUID v4; unitSerialFromWwn keeps the hex digits only', () => {
  const w = generateWwn();
  assert.match(w, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(unitSerialFromWwn('5F3C3B6E-2a3f-4c5a-9b1e-7d0a3c2e8f41'), '5f3c3b6e2a3f4c5a9b1e7d0a3c2e8f41');
  assert.equal(unitSerialFromWwn('xyz'), '');
});
