import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  ChapAuthenticator,
  chapResponse,
  decodeBinaryValue,
  encodeHexValue,
  type ChapAlgorithm,
  type ChapCredentials,
} from '../../src/iscsi/chap/index.js';
import { counterRandom } from './helpers.js';

const CREDS: ChapCredentials = { userid: 'user1', password: 'secret-secret1', mutualUserid: 'tgt1', mutualPassword: 'mutual-secret-1' };

test('chap: MD5 response matches an independent node:crypto computation', () => {
  const challenge = Buffer.from('8f1a2b3c4d5e6f708192a3b4c5d6e7f8', 'hex');
  const expected = createHash('md5').update(Buffer.of(0x2a)).update('s3cr3t-passw0rd').update(challenge).digest();
  assert.deepEqual(chapResponse(5, 0x2a, 's3cr3t-passw0rd', challenge), expected);
});

test('chap: fixed vectors checked with md5sum / sha256sum', () => {
  const challenge = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
  assert.equal(chapResponse(5, 1, 'secret', challenge).toString('hex'), '740e86463bda3a4d7017d6e0fba0699d');
  assert.equal(
    chapResponse(7, 7, 'mutual-secret-1', Buffer.from('aabbccdd', 'hex')).toString('hex'),
    '7af502d1aac0620c4dcb57776467584549164537dc60740dd1f679545426de92',
  );
});

test('chap: binary values — hex (any case, odd length), base64, bounds, garbage', () => {
  assert.deepEqual(decodeBinaryValue('0xABcd', 10), Buffer.from([0xab, 0xcd]));
  assert.deepEqual(decodeBinaryValue('0XABC', 10), Buffer.from([0x0a, 0xbc]));
  assert.deepEqual(decodeBinaryValue('0bq80=', 10), Buffer.from([0xab, 0xcd]));
  assert.deepEqual(decodeBinaryValue('0BAQID', 10), Buffer.from([1, 2, 3]));
  assert.deepEqual(decodeBinaryValue(`0x${'ab'.repeat(1024)}`, 1024)?.length, 1024);
  for (const bad of ['', '0x', '0b', 'abcd', '0xzz', '0x12 34', '0b!!!!', '0bq80', `0x${'ab'.repeat(1025)}`, `0b${'AAAA'.repeat(342)}`, '1xab']) {
    assert.equal(decodeBinaryValue(bad, 1024), undefined, bad);
  }
  assert.equal(encodeHexValue(Buffer.from([0, 255])), '0x00ff');
});

function start(alg: string, creds: ChapCredentials | null = CREDS) {
  const auth = new ChapAuthenticator({ credentials: creds ?? undefined, randomBytes: counterRandom() });
  const step = auth.handle([['CHAP_A', alg]]);
  assert.equal(step.kind, 'continue');
  const pairs = Object.fromEntries(step.kind === 'continue' ? step.pairs : []);
  return { auth, pairs, id: Number(pairs['CHAP_I']), challenge: decodeBinaryValue(pairs['CHAP_C']!, 1024)! };
}

for (const [alg, length] of [
  [5, 16],
  [6, 20],
  [7, 32],
  [8, 32],
] as Array<[ChapAlgorithm, number]>) {
  test(`chap: one-way authentication with algorithm ${alg}`, () => {
    const { auth, pairs, id, challenge } = start(String(alg));
    assert.equal(pairs['CHAP_A'], String(alg));
    assert.equal(challenge.length, length);
    assert.ok(id >= 0 && id <= 255);
    const r = chapResponse(alg, id, CREDS.password, challenge);
    const step = auth.handle([
      ['CHAP_N', 'user1'],
      ['CHAP_R', encodeHexValue(r)],
    ]);
    assert.deepEqual(step, { kind: 'success', pairs: [], user: 'user1' });
    assert.equal(auth.state, 'done');
  });
}

test('chap: algorithm choice follows the initiator order among supported ones', () => {
  assert.equal(start('7,5').pairs['CHAP_A'], '7');
  assert.equal(start('9,5,7').pairs['CHAP_A'], '5');
  assert.equal(start('8').pairs['CHAP_A'], '8');
  assert.equal(start('0x05,6').pairs['CHAP_A'], '6');
  for (const unsupported of ['9,10', 'md5', '', '4']) {
    const auth = new ChapAuthenticator({ credentials: CREDS, randomBytes: counterRandom() });
    assert.equal(auth.handle([['CHAP_A', unsupported]]).kind, 'failure', unsupported);
  }
  const restricted = new ChapAuthenticator({ credentials: CREDS, randomBytes: counterRandom(), algorithms: [5] });
  const s = restricted.handle([['CHAP_A', '7,5']]);
  assert.equal(s.kind === 'continue' ? Object.fromEntries(s.pairs)['CHAP_A'] : 'x', '5');
});

test('chap: response accepted as uppercase hex and as base64', () => {
  for (const encode of [(b: Buffer) => `0X${b.toString('hex').toUpperCase()}`, (b: Buffer) => `0b${b.toString('base64')}`]) {
    const { auth, id, challenge } = start('5');
    const step = auth.handle([
      ['CHAP_N', 'user1'],
      ['CHAP_R', encode(chapResponse(5, id, CREDS.password, challenge))],
    ]);
    assert.equal(step.kind, 'success');
  }
});

test('chap: failures — wrong secret, wrong name, bad encoding, wrong length, missing keys, no credentials', () => {
  const good = (s: ReturnType<typeof start>) => encodeHexValue(chapResponse(5, s.id, CREDS.password, s.challenge));
  const cases: Array<[string, (s: ReturnType<typeof start>) => Array<[string, string]>, ChapCredentials | null]> = [
    ['wrong secret', (s) => [['CHAP_N', 'user1'], ['CHAP_R', encodeHexValue(chapResponse(5, s.id, 'not-the-secret', s.challenge))]], CREDS],
    ['wrong id', (s) => [['CHAP_N', 'user1'], ['CHAP_R', encodeHexValue(chapResponse(5, (s.id + 1) & 255, CREDS.password, s.challenge))]], CREDS],
    ['wrong name', (s) => [['CHAP_N', 'user2'], ['CHAP_R', good(s)]], CREDS],
    ['bad hex', () => [['CHAP_N', 'user1'], ['CHAP_R', '0xnothex']], CREDS],
    ['no prefix', (s) => [['CHAP_N', 'user1'], ['CHAP_R', good(s).slice(2)]], CREDS],
    ['too long', () => [['CHAP_N', 'user1'], ['CHAP_R', `0x${'00'.repeat(1025)}`]], CREDS],
    ['truncated', (s) => [['CHAP_N', 'user1'], ['CHAP_R', good(s).slice(0, -2)]], CREDS],
    ['missing CHAP_N', (s) => [['CHAP_R', good(s)]], CREDS],
    ['missing CHAP_R', () => [['CHAP_N', 'user1']], CREDS],
    ['unexpected key', (s) => [['CHAP_N', 'user1'], ['CHAP_R', good(s)], ['CHAP_A', '5']], CREDS],
    ['no credentials', (s) => [['CHAP_N', 'user1'], ['CHAP_R', good(s)]], null],
  ];
  for (const [name, reply, creds] of cases) {
    const s = start('5', creds);
    const step = s.auth.handle(reply(s));
    assert.equal(step.kind, 'failure', name);
    assert.equal(s.auth.state, 'failed');
    // Nothing secret in the reason.
    if (step.kind === 'failure') {
      assert.ok(!step.reason.includes(CREDS.password) && !step.reason.includes(CREDS.mutualPassword!), name);
      assert.ok(!step.reason.includes(s.challenge.toString('hex')), name);
    }
  }
});

test('chap: mutual authentication answers with the target name and H(I\' || mutual secret || C\')', () => {
  const s = start('5');
  const mutualChallenge = Buffer.from('00112233445566778899aabbccddeeff0011', 'hex');
  const step = s.auth.handle([
    ['CHAP_N', 'user1'],
    ['CHAP_R', encodeHexValue(chapResponse(5, s.id, CREDS.password, s.challenge))],
    ['CHAP_I', '77'],
    ['CHAP_C', encodeHexValue(mutualChallenge)],
  ]);
  assert.equal(step.kind, 'success');
  const expected = createHash('md5').update(Buffer.of(77)).update(CREDS.mutualPassword!).update(mutualChallenge).digest();
  assert.deepEqual(step.kind === 'success' ? step.pairs : [], [
    ['CHAP_N', 'tgt1'],
    ['CHAP_R', `0x${expected.toString('hex')}`],
  ]);
});

test('chap: mutual failures — reflection, missing half, not configured, same secret, bad id', () => {
  const run = (creds: ChapCredentials, extra: (s: ReturnType<typeof start>) => Array<[string, string]>) => {
    const s = start('5', creds);
    return s.auth.handle([
      ['CHAP_N', creds.userid],
      ['CHAP_R', encodeHexValue(chapResponse(5, s.id, creds.password, s.challenge))],
      ...extra(s),
    ]).kind;
  };
  const C = ['CHAP_C', '0x0102030405060708090a0b0c0d0e0f10'] as [string, string];
  assert.equal(run(CREDS, (s) => [['CHAP_I', '1'], ['CHAP_C', encodeHexValue(s.challenge)]]), 'failure', 'reflection');
  assert.equal(run(CREDS, () => [C]), 'failure', 'CHAP_C without CHAP_I');
  assert.equal(run(CREDS, () => [['CHAP_I', '1']]), 'failure', 'CHAP_I without CHAP_C');
  assert.equal(run(CREDS, () => [['CHAP_I', '256'], C]), 'failure', 'id out of range');
  assert.equal(run(CREDS, () => [['CHAP_I', '1'], ['CHAP_C', '0xqq']]), 'failure', 'bad challenge');
  assert.equal(run({ userid: 'user1', password: 'secret-secret1' }, () => [['CHAP_I', '1'], C]), 'failure', 'not configured');
  assert.equal(
    run({ userid: 'user1', password: 'same-secret-12', mutualUserid: 't', mutualPassword: 'same-secret-12' }, () => [['CHAP_I', '1'], C]),
    'failure',
    'same secret both ways',
  );
  assert.equal(run(CREDS, () => [['CHAP_I', '1'], C]), 'success', 'control');
});

test('chap: protocol order — keys before CHAP_A, repeated keys, after completion', () => {
  const early = new ChapAuthenticator({ credentials: CREDS, randomBytes: counterRandom() });
  assert.equal(early.handle([['CHAP_N', 'user1']]).kind, 'failure');
  const waiting = new ChapAuthenticator({ credentials: CREDS, randomBytes: counterRandom() });
  assert.deepEqual(waiting.handle([]), { kind: 'continue', pairs: [] });
  assert.equal(waiting.state, 'algorithm');
  const s = start('5');
  assert.deepEqual(s.auth.handle([]), { kind: 'continue', pairs: [] });
  assert.equal(s.auth.handle([['CHAP_N', 'user1'], ['CHAP_N', 'user1']]).kind, 'failure');
});

test('chap: challenges come from the injected random source and are fresh per authenticator', () => {
  const bytes: number[] = [];
  const auth = new ChapAuthenticator({
    credentials: CREDS,
    randomBytes: (n) => {
      bytes.push(n);
      return Buffer.alloc(n, 0x5a);
    },
  });
  const step = auth.handle([['CHAP_A', '5']]);
  assert.deepEqual(bytes, [1, 16]);
  assert.deepEqual(step.kind === 'continue' ? step.pairs : [], [
    ['CHAP_A', '5'],
    ['CHAP_I', String(0x5a)],
    ['CHAP_C', `0x${'5a'.repeat(16)}`],
  ]);
});
