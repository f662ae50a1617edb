import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bareAddress, formatTargetAddress, isWildcard, planListeners, portalMatches, unmapAddress } from '../../src/runtime/portals.js';

test('targetcli bracketed IPv6 portals become bare addresses', () => {
  assert.equal(bareAddress('[::0]'), '::0');
  assert.equal(bareAddress('127.0.0.1'), '127.0.0.1');
  assert.ok(isWildcard('[::0]'));
  assert.ok(isWildcard('0.0.0.0'));
  assert.ok(!isWildcard('::1'));
});

test('TargetAddress puts IPv6 in brackets (RFC 7143 §13.8)', () => {
  assert.equal(formatTargetAddress('::1', 3260, 1), '[::1]:3260,1');
  assert.equal(formatTargetAddress('[fe80::1]', 3261, 2), '[fe80::1]:3261,2');
  assert.equal(formatTargetAddress('10.1.2.3', 3260, 7), '10.1.2.3:3260,7');
  assert.equal(unmapAddress('::ffff:127.0.0.1'), '127.0.0.1');
});

test('a wildcard covers specific addresses of its family on the same port', () => {
  assert.deepEqual(planListeners([{ ip: '0.0.0.0', port: 3260 }, { ip: '127.0.0.1', port: 3260 }, { ip: '127.0.0.1', port: 3261 }]), [
    { host: '0.0.0.0', port: 3260, ipv6Only: false },
    { host: '127.0.0.1', port: 3261, ipv6Only: false },
  ]);
  // targetcli's default [::0] on two targets: one dual-stack socket.
  assert.deepEqual(planListeners([{ ip: '[::0]', port: 3260 }, { ip: '::', port: 3260 }, { ip: '127.0.0.1', port: 3260 }]), [
    { host: '::', port: 3260, ipv6Only: false },
  ]);
  // Both wildcards: IPv6 socket must be v6-only or the bind collides.
  assert.deepEqual(planListeners([{ ip: '0.0.0.0', port: 3260 }, { ip: '::', port: 3260 }]), [
    { host: '::', port: 3260, ipv6Only: true },
    { host: '0.0.0.0', port: 3260, ipv6Only: false },
  ]);
});

test('portal matching by the connection local address', () => {
  assert.ok(portalMatches({ ip: '0.0.0.0', port: 3260 }, '::ffff:192.0.2.1', 3260));
  assert.ok(!portalMatches({ ip: '0.0.0.0', port: 3260 }, '::1', 3260));
  assert.ok(portalMatches({ ip: '::', port: 3260 }, '::1', 3260));
  assert.ok(portalMatches({ ip: '127.0.0.1', port: 3260 }, '127.0.0.1', 3260));
  assert.ok(!portalMatches({ ip: '127.0.0.1', port: 3260 }, '127.0.0.1', 3261));
  assert.ok(portalMatches({ ip: '0:0:0:0:0:0:0:1', port: 3260 }, '::1', 3260));
});
