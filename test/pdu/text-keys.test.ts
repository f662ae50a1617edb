import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFixture } from './fixtures.js';
import { TextAccumulator, encodeTextParameters, parseTextParameters } from '../../src/pdu/index.js';

const nul = (...records: string[]) => Buffer.from(records.map((r) => `${r}\0`).join(''), 'utf8');

test('parses the operational login text from the fixture in order', () => {
  const { frame } = loadFixture('login-request-operational');
  const r = parseTextParameters(frame.data);
  assert.ok(r.ok);
  assert.equal(r.pairs.length, 14);
  assert.deepEqual(r.pairs[0], ['HeaderDigest', 'None']);
  assert.deepEqual(r.pairs[4], ['MaxBurstLength', '262144']);
  assert.deepEqual(r.pairs[13], ['MaxConnections', '1']);
});

test('values may contain "=" and commas; keys allow . - + @ _', () => {
  const r = parseTextParameters(nul('AuthMethod=CHAP,None', 'X-com.example+v@1_a=a=b', 'Empty='));
  assert.ok(r.ok);
  assert.deepEqual(r.pairs, [
    ['AuthMethod', 'CHAP,None'],
    ['X-com.example+v@1_a', 'a=b'],
    ['Empty', ''],
  ]);
});

test('values are UTF-8', () => {
  const r = parseTextParameters(nul('InitiatorAlias=höst-ü'));
  assert.ok(r.ok);
  assert.deepEqual(r.pairs, [['InitiatorAlias', 'höst-ü']]);
});

test('empty data and stray NULs give no pairs', () => {
  assert.deepEqual(parseTextParameters(Buffer.alloc(0)), { ok: true, pairs: [] });
  assert.deepEqual(parseTextParameters(Buffer.from('\0\0a=b\0\0')), { ok: true, pairs: [['a', 'b']] });
});

test('malformed text is reported, never thrown', () => {
  const bad: Array<[string, Buffer]> = [
    ['missing =', nul('HeaderDigest')],
    ['empty key', nul('=x')],
    ['duplicate key', nul('A=1', 'A=2')],
    ['bad key character', nul('Bad Key=1')],
    ['key too long', nul(`${'K'.repeat(64)}=1`)],
    ['value too long', nul(`K=${'v'.repeat(8193)}`)],
    ['unterminated last record', Buffer.from('A=1\0B=2')],
  ];
  for (const [what, data] of bad) {
    const r = parseTextParameters(data);
    assert.equal(r.ok, false, what);
    assert.ok(!r.ok && r.message.length > 0, what);
  }
  assert.ok(parseTextParameters(nul(`${'K'.repeat(63)}=1`)).ok, '63-byte key is fine');
  assert.ok(parseTextParameters(nul(`K=${'v'.repeat(8192)}`)).ok, '8192-byte value is fine');
});

test('encodeTextParameters writes NUL-terminated records that parse back', () => {
  const pairs: Array<[string, string]> = [['TargetName', 'iqn.2003-01.org.example:t'], ['MaxRecvDataSegmentLength', '8192']];
  const buf = encodeTextParameters(pairs);
  assert.equal(buf.toString('latin1'), 'TargetName=iqn.2003-01.org.example:t\0MaxRecvDataSegmentLength=8192\0');
  assert.deepEqual(parseTextParameters(buf), { ok: true, pairs });
});

test('TextAccumulator joins C-bit continued segments split anywhere, even mid-key', () => {
  const whole = nul('InitiatorName=iqn.1994-05.com.redhat:abc', 'SessionType=Normal', 'AuthMethod=None');
  for (let cut = 0; cut <= whole.length; cut++) {
    const acc = new TextAccumulator(1024);
    const first = acc.push(whole.subarray(0, cut), true);
    assert.deepEqual(first, { kind: 'partial' });
    assert.ok(acc.pending);
    const done = acc.push(whole.subarray(cut), false);
    assert.equal(done.kind, 'complete', `cut ${cut}`);
    assert.equal(done.kind === 'complete' && done.pairs.length, 3);
    assert.equal(acc.pending, false);
  }
});

test('TextAccumulator enforces its size cap and resets afterwards', () => {
  const acc = new TextAccumulator(16);
  assert.deepEqual(acc.push(Buffer.from('A=0123456789'), true), { kind: 'partial' });
  const r = acc.push(Buffer.from('abcdef\0'), false);
  assert.equal(r.kind, 'error');
  assert.equal(acc.pending, false);
  assert.deepEqual(acc.push(nul('B=1'), false), { kind: 'complete', pairs: [['B', '1']] });
});

test('TextAccumulator reports an unterminated final segment as an error', () => {
  const acc = new TextAccumulator(1024);
  acc.push(Buffer.from('A=1\0B='), true);
  const r = acc.push(Buffer.from('2'), false);
  assert.equal(r.kind, 'error');
});
