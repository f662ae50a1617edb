import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { iqnProblem, nodeNameProblem, validateEui, validateIqn, validateNaa, validateNodeName } from '../../src/config/names.js';

const VALID_IQNS = [
  'iqn.2003-01.org.linux-iscsi.storage01.x8664:sn.4b2f0c9d1e3a',
  'iqn.1994-05.com.redhat:a1b2c3d4e5f6',
  'iqn.1991-05.com.microsoft:winsrv01.corp.example.com',
  'iqn.1998-01.com.vmware:esx01-1a2b3c4d',
  // RFC 3720 §3.2.6.3.1 examples
  'iqn.2001-04.com.example:storage:diskarrays-sn-a8675309',
  'iqn.2001-04.com.example',
  'iqn.2001-04.com.example:storage.tape1.sys1.xyz',
  'iqn.2001-04.com.example:storage.disk2.sys1.xyz',
  'iqn.2025-01.org.tsgt:host',
  // non-ASCII letters survive stringprep when already lower-case
  'iqn.2025-01.org.example:disque-é',
];

test('valid IQNs pass', () => {
  for (const name of VALID_IQNS) {
    assert.equal(validateIqn(name), undefined, name);
    assert.equal(validateNodeName(name), undefined, name);
  }
});

test('an IQN of exactly 223 bytes passes, 224 bytes fails with name-length', () => {
  const prefix = 'iqn.2025-01.org.example:';
  const ok = prefix + 'a'.repeat(223 - prefix.length);
  assert.equal(Buffer.byteLength(ok), 223);
  assert.equal(validateIqn(ok), undefined);
  const long = ok + 'b';
  assert.equal(iqnProblem(long)?.rule, 'name-length');
  // bytes, not characters: 2-byte characters count twice
  const multi = prefix + 'é'.repeat(100);
  assert.equal(Buffer.byteLength(multi), prefix.length + 200);
  assert.equal(iqnProblem(multi + 'é')?.rule, 'name-length');
});

const INVALID_IQNS: [string, string, RegExp][] = [
  ['iqn.2001-04.com.Example:x', 'iqn-format', /upper-case/],
  ['iqn.2001-04.com.example:Disk1', 'iqn-format', /upper-case/],
  ['IQN.2001-04.com.example:x', 'name-format', /lower-case 'iqn.'/],
  ['iqn.2001-13.com.example:x', 'iqn-format', /month 13/],
  ['iqn.2001-00.com.example:x', 'iqn-format', /month 00/],
  ['iqn.01-04.com.example:x', 'iqn-format', /yyyy-mm/],
  ['iqn.2001-4.com.example:x', 'iqn-format', /yyyy-mm/],
  ['iqn.2001-04', 'iqn-format', /yyyy-mm/],
  ['iqn.2001-04.:x', 'iqn-format', /naming authority/],
  ['iqn.2001-04.com..example', 'iqn-format', /domain label/],
  ['iqn.2001-04.com.example:', 'iqn-format', /nothing after/],
  ['iqn.2001-04.com.example:a_b', 'iqn-format', /"_"/],
  ['iqn.2001-04.com.example:a b', 'iqn-format', /space/],
  ['iqn.2001-04.com_x.example:a', 'iqn-format', /naming authority/],
  ['iqn.2001-04.com.example:a/b', 'iqn-format', /"\/"/],
  ['iqn.2001-04.com.example:a\u0000b', 'iqn-format', /\\u0000/],
];

test('invalid IQNs fail with a rule and a reason', () => {
  for (const [name, rule, reason] of INVALID_IQNS) {
    const p = nodeNameProblem(name);
    assert.ok(p, `${JSON.stringify(name)} should be invalid`);
    assert.equal(p.rule, rule, name);
    assert.match(p.reason, reason, name);
  }
});

test('EUI-64 names: eui. plus exactly 16 hex digits', () => {
  assert.equal(validateEui('eui.02004567A425678D'), undefined);
  assert.equal(validateEui('eui.02004567a425678d'), undefined);
  assert.equal(validateNodeName('eui.0123456789abcdef'), undefined);
  for (const bad of ['eui.0200', 'eui.02004567A425678G', 'eui.02004567A425678D0', 'eui.', 'EUI.02004567A425678D']) {
    assert.notEqual(validateNodeName(bad), undefined, bad);
  }
  assert.equal(nodeNameProblem('eui.123')?.rule, 'eui-format');
});

test('NAA names: naa. plus 16 or 32 hex digits (RFC 3980)', () => {
  assert.equal(validateNaa('naa.52004567BA64678D'), undefined);
  assert.equal(validateNaa('naa.62004567BA64678D0123456789ABCDEF'), undefined);
  for (const bad of ['naa.52004567BA64678', 'naa.52004567BA64678D01', 'naa.52004567BA64678D0123456789ABCDE', 'naa.zz004567BA64678D']) {
    assert.equal(nodeNameProblem(bad)?.rule, 'naa-format', bad);
  }
});

test('unknown name types are refused', () => {
  assert.equal(nodeNameProblem('foo.bar')?.rule, 'name-format');
  assert.equal(nodeNameProblem('')?.rule, 'name-format');
  assert.equal(nodeNameProblem('ib.0123')?.rule, 'name-format');
});

const lower = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789');
const label = fc.array(lower, { minLength: 1, maxLength: 10 }).map((a) => a.join(''));
const uniqueChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789.-:');
const iqnArb = fc
  .record({
    year: fc.integer({ min: 1970, max: 9999 }),
    month: fc.integer({ min: 1, max: 12 }),
    labels: fc.array(label, { minLength: 1, maxLength: 4 }),
    unique: fc.option(fc.array(uniqueChar, { minLength: 1, maxLength: 40 }).map((a) => a.join('')), { nil: undefined }),
  })
  .map(({ year, month, labels, unique }) =>
    `iqn.${year}-${String(month).padStart(2, '0')}.${labels.join('.')}${unique === undefined ? '' : ':' + unique}`,
  );

test('property: generated IQNs are valid; an inserted upper-case letter or underscore makes them invalid', () => {
  fc.assert(
    fc.property(iqnArb, fc.nat(), fc.constantFrom('A', 'Z', '_', ' ', '/'), (iqn, at, ch) => {
      assert.equal(validateIqn(iqn), undefined, iqn);
      const pos = 4 + (at % (iqn.length - 3)); // after "iqn."
      const broken = iqn.slice(0, pos) + ch + iqn.slice(pos);
      assert.notEqual(validateIqn(broken), undefined, broken);
    }),
  );
});
