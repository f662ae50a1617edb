import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Negotiator, KEYS, type NegotiationStage, type TextPair } from '../../src/iscsi/negotiation/index.js';

type Local = Record<string, string>;

function target(local: Local = {}, sessionType: 'Normal' | 'Discovery' = 'Normal'): Negotiator {
  return new Negotiator({ role: 'target', sessionType, local });
}

function answer(offers: TextPair[], local: Local = {}, sessionType: 'Normal' | 'Discovery' = 'Normal', stage: NegotiationStage = 'operational') {
  const r = target(local, sessionType).respond(offers, stage);
  if (!r.ok) return { error: r.error.code };
  return { answers: r.answers };
}

// (offer, our config) → expected answer, for every kind of key.
const TABLE: Array<{ name: string; offer: TextPair; local?: Local; type?: 'Normal' | 'Discovery'; expect: string | null }> = [
  // list: first of the initiator's list we support; "None" only when offered.
  { name: 'digest list, initiator order wins', offer: ['HeaderDigest', 'None,CRC32C'], local: { HeaderDigest: 'CRC32C,None' }, expect: 'None' },
  { name: 'digest list, CRC32C first', offer: ['HeaderDigest', 'CRC32C,None'], local: { HeaderDigest: 'None,CRC32C' }, expect: 'CRC32C' },
  { name: 'digest list, unknown values ignored', offer: ['DataDigest', 'MD5,CRC32C'], local: { DataDigest: 'CRC32C,None' }, expect: 'CRC32C' },
  { name: 'digest list, nothing common → Reject', offer: ['DataDigest', 'CRC32C'], local: { DataDigest: 'None' }, expect: 'Reject' },
  { name: 'TaskReporting only RFC3720', offer: ['TaskReporting', 'FastAbort,RFC3720'], expect: 'RFC3720' },
  // min
  { name: 'MaxBurstLength min (ours smaller)', offer: ['MaxBurstLength', '1048576'], local: { MaxBurstLength: '262144' }, expect: '262144' },
  { name: 'MaxBurstLength min (theirs smaller)', offer: ['MaxBurstLength', '65536'], local: { MaxBurstLength: '262144' }, expect: '65536' },
  { name: 'MaxBurstLength 511 below range', offer: ['MaxBurstLength', '511'], expect: 'Reject' },
  { name: 'MaxBurstLength 512 lower bound', offer: ['MaxBurstLength', '512'], expect: '512' },
  { name: 'MaxBurstLength 16777215 upper bound', offer: ['MaxBurstLength', '16777215'], local: { MaxBurstLength: '16777215' }, expect: '16777215' },
  { name: 'MaxBurstLength 16777216 above range', offer: ['MaxBurstLength', '16777216'], local: { MaxBurstLength: '16777215' }, expect: 'Reject' },
  { name: 'MaxBurstLength hex constant', offer: ['MaxBurstLength', '0x400'], expect: '1024' },
  { name: 'MaxBurstLength garbage', offer: ['MaxBurstLength', '12ab'], expect: 'Reject' },
  { name: 'MaxBurstLength empty', offer: ['MaxBurstLength', ''], expect: 'Reject' },
  { name: 'MaxOutstandingR2T 0 out of range', offer: ['MaxOutstandingR2T', '0'], expect: 'Reject' },
  { name: 'MaxOutstandingR2T min', offer: ['MaxOutstandingR2T', '16'], local: { MaxOutstandingR2T: '4' }, expect: '4' },
  { name: 'DefaultTime2Retain min to 0', offer: ['DefaultTime2Retain', '0'], expect: '0' },
  { name: 'ErrorRecoveryLevel: we offer 0', offer: ['ErrorRecoveryLevel', '2'], local: { ErrorRecoveryLevel: '0' }, expect: '0' },
  { name: 'ErrorRecoveryLevel 3 out of range', offer: ['ErrorRecoveryLevel', '3'], expect: 'Reject' },
  { name: 'MaxConnections min', offer: ['MaxConnections', '8'], local: { MaxConnections: '1' }, expect: '1' },
  { name: 'MaxConnections 65536', offer: ['MaxConnections', '65536'], expect: 'Reject' },
  // max
  { name: 'DefaultTime2Wait max (theirs larger)', offer: ['DefaultTime2Wait', '5'], local: { DefaultTime2Wait: '2' }, expect: '5' },
  { name: 'DefaultTime2Wait max (ours larger)', offer: ['DefaultTime2Wait', '0'], local: { DefaultTime2Wait: '2' }, expect: '2' },
  { name: 'DefaultTime2Wait 3601', offer: ['DefaultTime2Wait', '3601'], expect: 'Reject' },
  // and / or
  { name: 'ImmediateData and Yes/Yes', offer: ['ImmediateData', 'Yes'], local: { ImmediateData: 'Yes' }, expect: 'Yes' },
  { name: 'ImmediateData and Yes/No', offer: ['ImmediateData', 'Yes'], local: { ImmediateData: 'No' }, expect: 'No' },
  { name: 'ImmediateData and No/Yes', offer: ['ImmediateData', 'No'], local: { ImmediateData: 'Yes' }, expect: 'No' },
  { name: 'ImmediateData bad boolean', offer: ['ImmediateData', 'yes'], expect: 'Reject' },
  { name: 'InitialR2T or No/No', offer: ['InitialR2T', 'No'], local: { InitialR2T: 'No' }, expect: 'No' },
  { name: 'InitialR2T or No/Yes', offer: ['InitialR2T', 'No'], local: { InitialR2T: 'Yes' }, expect: 'Yes' },
  { name: 'DataPDUInOrder or Yes/No', offer: ['DataPDUInOrder', 'Yes'], local: { DataPDUInOrder: 'No' }, expect: 'Yes' },
  { name: 'DataSequenceInOrder or No/No', offer: ['DataSequenceInOrder', 'No'], local: { DataSequenceInOrder: 'No' }, expect: 'No' },
  // declaratives: no answer
  { name: 'initiator MaxRecvDataSegmentLength is declarative', offer: ['MaxRecvDataSegmentLength', '262144'], expect: null },
  { name: 'MaxRecvDataSegmentLength 511', offer: ['MaxRecvDataSegmentLength', '511'], expect: 'Reject' },
  { name: 'MaxRecvDataSegmentLength 16777216', offer: ['MaxRecvDataSegmentLength', '16777216'], expect: 'Reject' },
  { name: 'InitiatorAlias declarative', offer: ['InitiatorAlias', 'client one'], expect: null },
  // unknown, extensions, obsolete markers (RFC 7143 §13.26)
  { name: 'unknown key', offer: ['FooBar', '1'], expect: 'NotUnderstood' },
  { name: 'X- extension', offer: ['X-com.example.Thing', 'Yes'], expect: 'NotUnderstood' },
  { name: 'X# extension', offer: ['X#NodeArchitecture', 'Linux'], expect: 'NotUnderstood' },
  { name: 'OFMarker answered No', offer: ['OFMarker', 'Yes'], expect: 'No' },
  { name: 'IFMarker answered No', offer: ['IFMarker', 'No'], expect: 'No' },
  { name: 'OFMarkInt answered Reject', offer: ['OFMarkInt', '2048~8192'], expect: 'Reject' },
  { name: 'IFMarkInt answered Reject', offer: ['IFMarkInt', '2048~8192'], expect: 'Reject' },
  // discovery sessions: most session keys are irrelevant (RFC 7143 §13)
  { name: 'discovery: MaxBurstLength Irrelevant', offer: ['MaxBurstLength', '65536'], type: 'Discovery', expect: 'Irrelevant' },
  { name: 'discovery: InitialR2T Irrelevant', offer: ['InitialR2T', 'No'], type: 'Discovery', expect: 'Irrelevant' },
  { name: 'discovery: MaxConnections Irrelevant', offer: ['MaxConnections', '1'], type: 'Discovery', expect: 'Irrelevant' },
  { name: 'discovery: DataSequenceInOrder Irrelevant', offer: ['DataSequenceInOrder', 'Yes'], type: 'Discovery', expect: 'Irrelevant' },
  { name: 'discovery: DefaultTime2Wait relevant', offer: ['DefaultTime2Wait', '4'], type: 'Discovery', expect: '4' },
  { name: 'discovery: HeaderDigest relevant', offer: ['HeaderDigest', 'CRC32C'], type: 'Discovery', expect: 'CRC32C' },
  { name: 'discovery: ErrorRecoveryLevel relevant', offer: ['ErrorRecoveryLevel', '1'], type: 'Discovery', expect: '0' },
];

for (const row of TABLE) {
  test(`negotiate: ${row.name}`, () => {
    const r = answer([row.offer], row.local ?? {}, row.type ?? 'Normal');
    assert.ok(r.answers, `unexpected error ${r.error}`);
    if (row.expect === null) assert.deepEqual(r.answers, []);
    else assert.deepEqual(r.answers, [[row.offer[0], row.expect]]);
  });
}

test('negotiate: answers come back in the order offered', () => {
  const r = answer([
    ['MaxBurstLength', '65536'],
    ['X-foo', 'bar'],
    ['HeaderDigest', 'None'],
    ['ImmediateData', 'No'],
  ]);
  assert.deepEqual(r.answers, [
    ['MaxBurstLength', '65536'],
    ['X-foo', 'NotUnderstood'],
    ['HeaderDigest', 'None'],
    ['ImmediateData', 'No'],
  ]);
});

test('negotiate: errors — duplicate, wrong stage, wrong sender, unsolicited answer, unacceptable', () => {
  const n = target();
  assert.ok(n.respond([['MaxBurstLength', '65536']], 'operational').ok);
  const dup = n.respond([['MaxBurstLength', '65536']], 'operational');
  assert.equal(dup.ok ? 'ok' : dup.error.code, 'duplicate-key');

  const cases: Array<[TextPair, NegotiationStage, string]> = [
    [['MaxBurstLength', '65536'], 'security', 'wrong-stage'],
    [['HeaderDigest', 'None'], 'security', 'wrong-stage'],
    [['AuthMethod', 'None'], 'operational', 'wrong-stage'],
    [['CHAP_A', '5'], 'operational', 'wrong-stage'],
    [['SendTargets', 'All'], 'operational', 'wrong-stage'],
    [['SendTargets', 'All'], 'security', 'wrong-stage'],
    [['TargetAlias', 'me'], 'operational', 'wrong-sender'],
    [['TargetPortalGroupTag', '1'], 'security', 'wrong-sender'],
    [['TargetAddress', '10.0.0.1:3260,1'], 'operational', 'wrong-sender'],
    [['HeaderDigest', 'Reject'], 'operational', 'invalid-response'],
    [['MaxBurstLength', 'NotUnderstood'], 'operational', 'invalid-response'],
  ];
  for (const [pair, stage, code] of cases) {
    const r = target().respond([pair], stage);
    assert.equal(r.ok ? 'ok' : r.error.code, code, `${pair.join('=')} in ${stage}`);
  }
  const forbidden = target({ HeaderDigest: 'CRC32C' }).respond([['HeaderDigest', 'None']], 'operational');
  assert.equal(forbidden.ok ? 'ok' : forbidden.error.code, 'unacceptable');
});

test('negotiate: security stage accepts only security keys and declaratives', () => {
  const n = target();
  const r = n.respond(
    [
      ['InitiatorName', 'iqn.x'],
      ['SessionType', 'Normal'],
      ['TargetName', 'iqn.t'],
      ['AuthMethod', 'CHAP,None'],
      ['CHAP_A', '5'],
    ],
    'security',
  );
  assert.ok(r.ok);
  assert.deepEqual(r.answers, [['AuthMethod', 'CHAP']]);
  assert.deepEqual(r.authPairs, [['CHAP_A', '5']]);
  assert.equal(n.sessionParameters().InitiatorName, 'iqn.x');
  assert.equal(n.sessionParameters().TargetName, 'iqn.t');
});

test('negotiate: FirstBurstLength is capped by MaxBurstLength negotiated in the same batch', () => {
  const n = target({ MaxBurstLength: '16777215', FirstBurstLength: '16777215' });
  const r = n.respond(
    [
      ['FirstBurstLength', '262144'],
      ['MaxBurstLength', '65536'],
    ],
    'operational',
  );
  assert.ok(r.ok);
  assert.deepEqual(r.answers, [
    ['FirstBurstLength', '65536'],
    ['MaxBurstLength', '65536'],
  ]);
  const p = n.sessionParameters();
  assert.equal(p.FirstBurstLength, 65536);
  assert.equal(p.MaxBurstLength, 65536);
});

test('negotiate: FirstBurstLength above an earlier MaxBurstLength is clamped in the result', () => {
  const n = target({ MaxBurstLength: '16777215', FirstBurstLength: '16777215' });
  assert.ok(n.respond([['MaxBurstLength', '8192']], 'operational').ok);
  const r = n.respond([['FirstBurstLength', '65536']], 'operational');
  assert.ok(r.ok);
  assert.deepEqual(r.answers, [['FirstBurstLength', '8192']]);
});

test('negotiate: FirstBurstLength Irrelevant when InitialR2T=Yes and ImmediateData=No (same batch, any order)', () => {
  const r = answer([
    ['FirstBurstLength', '65536'],
    ['InitialR2T', 'Yes'],
    ['ImmediateData', 'No'],
  ]);
  assert.deepEqual(r.answers, [
    ['FirstBurstLength', 'Irrelevant'],
    ['InitialR2T', 'Yes'],
    ['ImmediateData', 'No'],
  ]);
  const relevant = answer([
    ['InitialR2T', 'No'],
    ['ImmediateData', 'No'],
    ['FirstBurstLength', '4096'],
  ], { InitialR2T: 'No' });
  assert.deepEqual(relevant.answers?.[2], ['FirstBurstLength', '4096']);
});

test('negotiate: RFC defaults when nothing is negotiated', () => {
  const n = target();
  const s = n.sessionParameters();
  assert.deepEqual(
    {
      InitialR2T: s.InitialR2T,
      ImmediateData: s.ImmediateData,
      MaxBurstLength: s.MaxBurstLength,
      FirstBurstLength: s.FirstBurstLength,
      DefaultTime2Wait: s.DefaultTime2Wait,
      DefaultTime2Retain: s.DefaultTime2Retain,
      MaxOutstandingR2T: s.MaxOutstandingR2T,
      DataPDUInOrder: s.DataPDUInOrder,
      DataSequenceInOrder: s.DataSequenceInOrder,
      ErrorRecoveryLevel: s.ErrorRecoveryLevel,
      MaxConnections: s.MaxConnections,
      SessionType: s.SessionType,
    },
    {
      InitialR2T: true,
      ImmediateData: true,
      MaxBurstLength: 262144,
      FirstBurstLength: 65536,
      DefaultTime2Wait: 2,
      DefaultTime2Retain: 20,
      MaxOutstandingR2T: 1,
      DataPDUInOrder: true,
      DataSequenceInOrder: true,
      ErrorRecoveryLevel: 0,
      MaxConnections: 1,
      SessionType: 'Normal',
    },
  );
  assert.deepEqual(n.connectionParameters(), {
    headerDigest: false,
    dataDigest: false,
    maxRecvDataSegmentLength: 8192,
    maxXmitDataSegmentLength: 8192,
  });
});

test('negotiate: connection parameters from digests and both declarations', () => {
  const n = target({ MaxRecvDataSegmentLength: '65536' });
  const r = n.respond(
    [
      ['HeaderDigest', 'CRC32C,None'],
      ['DataDigest', 'None,CRC32C'],
      ['MaxRecvDataSegmentLength', '262144'],
    ],
    'operational',
  );
  assert.ok(r.ok);
  assert.deepEqual(n.declare('MaxRecvDataSegmentLength'), ['MaxRecvDataSegmentLength', '65536']);
  assert.deepEqual(n.connectionParameters(), {
    headerDigest: true,
    dataDigest: false,
    maxRecvDataSegmentLength: 65536,
    maxXmitDataSegmentLength: 262144,
  });
  // LIO's MaxXmitDataSegmentLength caps what we send.
  const capped = target({ MaxXmitDataSegmentLength: '16384' });
  assert.ok(capped.respond([['MaxRecvDataSegmentLength', '262144']], 'operational').ok);
  assert.equal(capped.connectionParameters().maxXmitDataSegmentLength, 16384);
});

test('negotiate: target proposes keys whose configured value changes the default, and checks the answers', () => {
  const n = target({ ImmediateData: 'No', MaxBurstLength: '65536', FirstBurstLength: '8192', DefaultTime2Wait: '2' });
  assert.ok(n.respond([['HeaderDigest', 'None']], 'operational').ok);
  const offers = n.proposals('operational');
  assert.deepEqual(offers, [
    ['ImmediateData', 'No'],
    ['MaxBurstLength', '65536'],
    ['FirstBurstLength', '8192'],
  ]);
  assert.deepEqual(n.outstanding, ['ImmediateData', 'MaxBurstLength', 'FirstBurstLength']);
  assert.deepEqual(n.proposals('operational'), [], 'each key is proposed once');
  const r = n.respond(
    [
      ['ImmediateData', 'No'],
      ['MaxBurstLength', '32768'],
      ['FirstBurstLength', 'NotUnderstood'],
    ],
    'operational',
  );
  assert.ok(r.ok);
  assert.deepEqual(r.answers, [], 'answers to our offers are not answered again');
  assert.deepEqual(n.outstanding, []);
  const s = n.sessionParameters();
  assert.equal(s.ImmediateData, false);
  assert.equal(s.MaxBurstLength, 32768);
  assert.equal(s.FirstBurstLength, 32768, 'NotUnderstood leaves the default 65536, clamped to MaxBurstLength');
});

test('negotiate: inadmissible answers to our offers are protocol errors', () => {
  const cases: Array<[Local, TextPair]> = [
    [{ ImmediateData: 'No' }, ['ImmediateData', 'Yes']],
    [{ MaxBurstLength: '65536' }, ['MaxBurstLength', '131072']],
    [{ MaxBurstLength: '65536' }, ['MaxBurstLength', '100']],
    [{ DefaultTime2Wait: '10' }, ['DefaultTime2Wait', '5']],
    [{ HeaderDigest: 'CRC32C' }, ['HeaderDigest', 'None']],
  ];
  for (const [local, reply] of cases) {
    const n = target(local);
    assert.equal(n.proposals('operational').length, 1, JSON.stringify(local));
    const r = n.respond([reply], 'operational');
    assert.equal(r.ok ? 'ok' : r.error.code, 'invalid-response', reply.join('='));
  }
  const digests = target({ HeaderDigest: 'CRC32C' });
  digests.proposals('operational');
  const rejected = digests.respond([['HeaderDigest', 'Reject']], 'operational');
  assert.equal(rejected.ok ? 'ok' : rejected.error.code, 'unacceptable');
});

test('negotiate: violations() flags a list default our configuration forbids', () => {
  const n = target({ HeaderDigest: 'CRC32C', DataDigest: 'CRC32C,None' });
  assert.deepEqual(n.violations(), ['HeaderDigest']);
  assert.ok(n.respond([['HeaderDigest', 'CRC32C']], 'operational').ok);
  assert.deepEqual(n.violations(), []);
});

test('negotiate: discovery sessions propose nothing irrelevant', () => {
  const n = target({ ImmediateData: 'No', MaxBurstLength: '65536', DefaultTime2Wait: '5' }, 'Discovery');
  assert.deepEqual(n.proposals('operational'), [['DefaultTime2Wait', '5']]);
});

test('negotiate: initiator side offers and accepts the target answers', () => {
  const ini = new Negotiator({
    role: 'initiator',
    sessionType: 'Normal',
    local: { HeaderDigest: 'CRC32C,None', MaxBurstLength: '1048576', ImmediateData: 'Yes', MaxRecvDataSegmentLength: '262144', InitiatorName: 'iqn.i' },
  });
  const offers = ini.offer(['InitiatorName', 'HeaderDigest', 'MaxBurstLength', 'ImmediateData', 'MaxRecvDataSegmentLength'], 'operational');
  assert.deepEqual(offers, [
    ['InitiatorName', 'iqn.i'],
    ['HeaderDigest', 'CRC32C,None'],
    ['MaxBurstLength', '1048576'],
    ['ImmediateData', 'Yes'],
    ['MaxRecvDataSegmentLength', '262144'],
  ]);
  const r = ini.acceptResponse(
    [
      ['HeaderDigest', 'CRC32C'],
      ['MaxBurstLength', '262144'],
      ['ImmediateData', 'No'],
      ['MaxRecvDataSegmentLength', '8192'],
      ['TargetPortalGroupTag', '3'],
      ['DefaultTime2Wait', '4'],
    ],
    'operational',
  );
  assert.ok(r.ok);
  // The target proposed DefaultTime2Wait: the initiator answers it.
  assert.deepEqual(r.answers, [['DefaultTime2Wait', '4']]);
  assert.deepEqual(ini.outstanding, []);
  const s = ini.sessionParameters();
  assert.equal(s.MaxBurstLength, 262144);
  assert.equal(s.ImmediateData, false);
  assert.equal(s.TargetPortalGroupTag, 3);
  assert.equal(s.InitiatorName, 'iqn.i');
  assert.deepEqual(ini.connectionParameters(), { headerDigest: true, dataDigest: false, maxRecvDataSegmentLength: 262144, maxXmitDataSegmentLength: 8192 });

  const bad = new Negotiator({ role: 'initiator', sessionType: 'Normal', local: { HeaderDigest: 'None' } });
  bad.offer(['HeaderDigest'], 'operational');
  const r2 = bad.acceptResponse([['HeaderDigest', 'CRC32C']], 'operational');
  assert.equal(r2.ok ? 'ok' : r2.error.code, 'invalid-response');
  const fromTarget = bad.acceptResponse([['InitiatorAlias', 'x']], 'operational');
  assert.equal(fromTarget.ok ? 'ok' : fromTarget.error.code, 'wrong-sender');
});

// Both sides of the engine agree on every result, whatever the two configurations.
test('negotiate: property — initiator offers, target answers, both reach the same parameters', () => {
  const numeric = (name: string) => {
    const range = KEYS.get(name)!.range!;
    return fc.integer({ min: range.min, max: Math.min(range.max, range.min + 1 << 20) }).map(String);
  };
  const bool = fc.constantFrom('Yes', 'No');
  const digest = fc.constantFrom('None', 'CRC32C', 'CRC32C,None', 'None,CRC32C');
  const config = fc.record({
    HeaderDigest: digest,
    DataDigest: digest,
    InitialR2T: bool,
    ImmediateData: bool,
    MaxBurstLength: numeric('MaxBurstLength'),
    FirstBurstLength: numeric('FirstBurstLength'),
    DefaultTime2Wait: numeric('DefaultTime2Wait'),
    DefaultTime2Retain: numeric('DefaultTime2Retain'),
    MaxOutstandingR2T: numeric('MaxOutstandingR2T'),
    DataPDUInOrder: bool,
    DataSequenceInOrder: bool,
    ErrorRecoveryLevel: fc.constantFrom('0', '1', '2'),
    MaxRecvDataSegmentLength: numeric('MaxRecvDataSegmentLength'),
  });
  fc.assert(
    fc.property(config, config, (iniLocal, tgtLocal) => {
      const ini = new Negotiator({ role: 'initiator', sessionType: 'Normal', local: iniLocal });
      const tgt = new Negotiator({ role: 'target', sessionType: 'Normal', local: tgtLocal });
      const offers = ini.offer(Object.keys(iniLocal), 'operational');
      const answered = tgt.respond(offers, 'operational');
      if (!answered.ok) return answered.error.code === 'unacceptable';
      const back = [...answered.answers, tgt.declare('MaxRecvDataSegmentLength')];
      const accepted = ini.acceptResponse(back, 'operational');
      if (!accepted.ok) return accepted.error.code === 'unacceptable';
      assert.deepEqual(ini.outstanding, []);
      const a = ini.sessionParameters();
      const b = tgt.sessionParameters();
      for (const k of ['InitialR2T', 'ImmediateData', 'MaxBurstLength', 'FirstBurstLength', 'DefaultTime2Wait', 'DefaultTime2Retain', 'MaxOutstandingR2T', 'DataPDUInOrder', 'DataSequenceInOrder', 'ErrorRecoveryLevel'] as const) {
        assert.equal(a[k], b[k], k);
      }
      assert.ok(b.FirstBurstLength <= b.MaxBurstLength);
      const ca = ini.connectionParameters();
      const cb = tgt.connectionParameters();
      assert.equal(ca.headerDigest, cb.headerDigest);
      assert.equal(ca.dataDigest, cb.dataDigest);
      assert.equal(ca.maxXmitDataSegmentLength, cb.maxRecvDataSegmentLength);
      assert.equal(ca.maxRecvDataSegmentLength, cb.maxXmitDataSegmentLength);
      return true;
    }),
    { numRuns: 300 },
  );
});

test('negotiate: property — respond never throws on arbitrary pairs', () => {
  const keyArb = fc.oneof(fc.constantFrom(...KEYS.keys()), fc.string({ maxLength: 12 }));
  fc.assert(
    fc.property(fc.array(fc.tuple(keyArb, fc.string({ maxLength: 20 })), { maxLength: 12 }), fc.constantFrom<NegotiationStage>('security', 'operational', 'full-feature'), (pairs, stage) => {
      const r = target().respond(pairs, stage);
      assert.equal(typeof r.ok, 'boolean');
    }),
    { numRuns: 300 },
  );
});
