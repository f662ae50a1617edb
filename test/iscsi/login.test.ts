import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginMachine, type LoginStep } from '../../src/iscsi/login/index.js';
import { chapResponse, decodeBinaryValue, encodeHexValue, type ChapAlgorithm } from '../../src/iscsi/chap/index.js';
import { INITIATOR, ISID, TARGET, keysOf, loginRequest, pairsOf, status, testEnv, testTarget, text } from './helpers.js';

const QD = 32;
const CREDS = { userid: 'user1', password: 'secret-secret1', mutualUserid: 'tgt1', mutualPassword: 'mutual-secret-1' };

const OPERATIONAL = {
  HeaderDigest: 'None',
  DataDigest: 'None',
  ImmediateData: 'Yes',
  InitialR2T: 'Yes',
  MaxBurstLength: '262144',
  FirstBurstLength: '65536',
  MaxRecvDataSegmentLength: '262144',
  DefaultTime2Wait: '2',
  DefaultTime2Retain: '0',
  MaxOutstandingR2T: '1',
  DataPDUInOrder: 'Yes',
  DataSequenceInOrder: 'Yes',
  ErrorRecoveryLevel: '0',
  MaxConnections: '1',
};
const FIRST = { InitiatorName: INITIATOR, TargetName: TARGET, SessionType: 'Normal' };

function machine(env = testEnv(), options: { maxLoginPduData?: number } = {}) {
  return new LoginMachine(env, { queueDepth: QD, ...options });
}

function expectComplete(step: LoginStep) {
  assert.equal(step.kind, 'complete', `expected complete, got ${step.kind} ${status(step.response)}`);
  if (step.kind !== 'complete') throw new Error('unreachable');
  return step;
}

function expectFail(step: LoginStep, code: string) {
  assert.equal(step.kind, 'fail');
  assert.equal(status(step.response), code);
  assert.equal(step.response.transit, false);
  assert.equal(step.response.data.length, 0, 'a failed login carries no text');
}

test('login: no-auth one-shot straight to full feature phase (libiscsi style)', () => {
  const env = testEnv();
  const m = machine(env);
  const step = expectComplete(m.handle(loginRequest({ text: { ...FIRST, ...OPERATIONAL } })));
  const r = step.response;
  assert.equal(status(r), '00/00');
  assert.deepEqual(
    { transit: r.transit, continue: r.continue, csg: r.csg, nsg: r.nsg, vmax: r.versionMax, vact: r.versionActive, tsih: r.tsih, itt: r.itt },
    { transit: true, continue: false, csg: 1, nsg: 3, vmax: 0, vact: 0, tsih: 0x2a, itt: 0x1000 },
  );
  assert.deepEqual(r.isid, ISID);
  assert.equal(r.statSn, 7000, 'first StatSN = the initiator ExpStatSN');
  assert.equal(r.expCmdSn, 100);
  assert.equal(r.maxCmdSn, 100 + QD - 1);
  assert.deepEqual(pairsOf(r.data), [
    ['HeaderDigest', 'None'],
    ['DataDigest', 'None'],
    ['ImmediateData', 'Yes'],
    ['InitialR2T', 'Yes'],
    ['MaxBurstLength', '262144'],
    ['FirstBurstLength', '65536'],
    ['DefaultTime2Wait', '2'],
    ['DefaultTime2Retain', '0'],
    ['MaxOutstandingR2T', '1'],
    ['DataPDUInOrder', 'Yes'],
    ['DataSequenceInOrder', 'Yes'],
    ['ErrorRecoveryLevel', '0'],
    ['MaxConnections', '1'],
    ['TargetPortalGroupTag', '1'],
    ['MaxRecvDataSegmentLength', '8192'],
  ]);
  const o = step.outcome;
  assert.equal(o.sessionType, 'Normal');
  assert.equal(o.initiatorName, INITIATOR);
  assert.equal(o.target?.name, TARGET);
  assert.deepEqual(o.isid, ISID);
  assert.equal(o.tsih, 0);
  assert.equal(o.cid, 1);
  assert.equal(o.expCmdSn, 100);
  assert.equal(o.statSn, 7001);
  assert.equal(o.authenticated, false);
  assert.equal(o.session.TargetPortalGroupTag, 1);
  assert.equal(o.session.DefaultTime2Retain, 0);
  assert.equal(o.session.TargetName, TARGET);
  assert.deepEqual(o.connection, { headerDigest: false, dataDigest: false, maxRecvDataSegmentLength: 8192, maxXmitDataSegmentLength: 262144 });
  assert.equal(env.admitted.length, 1);
  assert.equal(env.admitted[0], o);
  // Nothing after completion.
  expectFail(m.handle(loginRequest({ text: {} })), '02/00');
});

test('login: security (AuthMethod=None) → operational → FFP (open-iscsi without CHAP)', () => {
  const m = machine(testEnv({ targets: [testTarget({ alias: 'disk array', parameters: { MaxRecvDataSegmentLength: '65536', HeaderDigest: 'CRC32C,None' } })] }));
  const s1 = m.handle(loginRequest({ csg: 0, nsg: 1, text: { ...FIRST, InitiatorAlias: 'client one', AuthMethod: 'None' } }));
  assert.equal(s1.kind, 'continue');
  assert.equal(status(s1.response), '00/00');
  assert.deepEqual([s1.response.transit, s1.response.csg, s1.response.nsg], [true, 0, 1]);
  assert.deepEqual(keysOf(s1.response.data), { AuthMethod: 'None', TargetPortalGroupTag: '1', TargetAlias: 'disk array' });
  assert.equal(s1.response.statSn, 7000);
  const s2 = expectComplete(m.handle(loginRequest({ csg: 1, nsg: 3, text: { ...OPERATIONAL, HeaderDigest: 'CRC32C,None' } })));
  assert.equal(s2.response.statSn, 7001);
  assert.equal(keysOf(s2.response.data)['MaxRecvDataSegmentLength'], '65536');
  assert.equal(keysOf(s2.response.data)['HeaderDigest'], 'CRC32C');
  assert.equal(s2.outcome.statSn, 7002);
  assert.equal(s2.outcome.initiatorAlias, 'client one');
  assert.deepEqual(s2.outcome.connection, { headerDigest: true, dataDigest: false, maxRecvDataSegmentLength: 65536, maxXmitDataSegmentLength: 262144 });
});

test('login: security stage straight to FFP keeps RFC defaults (we never declared our MaxRecvDataSegmentLength)', () => {
  const step = expectComplete(machine().handle(loginRequest({ csg: 0, nsg: 3, text: { ...FIRST, AuthMethod: 'None' } })));
  assert.deepEqual(step.outcome.connection, { headerDigest: false, dataDigest: false, maxRecvDataSegmentLength: 8192, maxXmitDataSegmentLength: 8192 });
  assert.equal(step.response.csg, 0);
});

/** Drives a CHAP login (libiscsi order: AuthMethod with T=1, CHAP_A with T=0, CHAP_N/R with T=1). */
function chapLogin(
  m: LoginMachine,
  o: { alg?: ChapAlgorithm; algList?: string; secret?: string; mutual?: { id: number; challenge: Buffer }; first?: Record<string, string> } = {},
): { steps: LoginStep[]; challenge?: Buffer; id?: number } {
  const steps: LoginStep[] = [];
  const s1 = m.handle(loginRequest({ csg: 0, nsg: 1, text: { ...(o.first ?? FIRST), AuthMethod: 'CHAP,None' } }));
  steps.push(s1);
  if (s1.kind !== 'continue') return { steps };
  assert.equal(s1.response.transit, false, 'no transit before CHAP is done');
  assert.equal(keysOf(s1.response.data)['AuthMethod'], 'CHAP');
  const s2 = m.handle(loginRequest({ csg: 0, nsg: 1, transit: false, text: { CHAP_A: o.algList ?? String(o.alg ?? 5) } }));
  steps.push(s2);
  if (s2.kind !== 'continue') return { steps };
  const k = keysOf(s2.response.data);
  const alg = Number(k['CHAP_A']) as ChapAlgorithm;
  const id = Number(k['CHAP_I']);
  const challenge = decodeBinaryValue(k['CHAP_C']!, 1024)!;
  const reply: Array<[string, string]> = [
    ['CHAP_N', 'user1'],
    ['CHAP_R', encodeHexValue(chapResponse(alg, id, o.secret ?? CREDS.password, challenge))],
  ];
  if (o.mutual) reply.push(['CHAP_I', String(o.mutual.id)], ['CHAP_C', encodeHexValue(o.mutual.challenge)]);
  steps.push(m.handle(loginRequest({ csg: 0, nsg: 1, text: reply })));
  return { steps, challenge, id };
}

test('login: one-way CHAP, then operational, then FFP', () => {
  const env = testEnv({ targets: [testTarget({ authenticationRequired: true, credentials: CREDS })] });
  const m = machine(env);
  const { steps } = chapLogin(m);
  assert.deepEqual(
    steps.map((s) => [s.kind, status(s.response), s.response.transit, s.response.statSn]),
    [
      ['continue', '00/00', false, 7000],
      ['continue', '00/00', false, 7001],
      ['continue', '00/00', true, 7002],
    ],
  );
  assert.deepEqual(steps[2]!.response.data.length, 0);
  assert.equal(steps[2]!.response.nsg, 1);
  const done = expectComplete(m.handle(loginRequest({ text: OPERATIONAL })));
  assert.equal(done.outcome.authenticated, true);
  assert.equal(done.outcome.chapUser, 'user1');
  assert.equal(done.outcome.statSn, 7004);
});

test('login: CHAP with each algorithm', () => {
  for (const alg of [5, 6, 7, 8] as ChapAlgorithm[]) {
    const m = machine(testEnv({ targets: [testTarget({ authenticationRequired: true, credentials: CREDS })] }));
    const { steps, challenge } = chapLogin(m, { alg });
    assert.equal(steps[2]?.kind, 'continue', `alg ${alg}`);
    assert.equal(steps[2]?.response.transit, true);
    assert.equal(challenge?.length, alg === 5 ? 16 : alg === 6 ? 20 : 32);
    expectComplete(m.handle(loginRequest({ text: OPERATIONAL })));
  }
});

test('login: mutual CHAP returns the target response', () => {
  const m = machine(testEnv({ targets: [testTarget({ credentials: CREDS })] }));
  const mutualChallenge = Buffer.from('a1a2a3a4a5a6a7a8a9aaabacadaeafb0', 'hex');
  const { steps } = chapLogin(m, { alg: 7, mutual: { id: 9, challenge: mutualChallenge } });
  const last = steps[2]!;
  assert.equal(last.kind, 'continue');
  assert.equal(last.response.transit, true);
  assert.deepEqual(keysOf(last.response.data), {
    CHAP_N: 'tgt1',
    CHAP_R: encodeHexValue(chapResponse(7, 9, CREDS.mutualPassword, mutualChallenge)),
  });
});

test('login: CHAP failures are authentication failures (02/01)', () => {
  const env = () => testEnv({ targets: [testTarget({ authenticationRequired: true, credentials: CREDS })] });
  const wrong = chapLogin(machine(env()), { secret: 'wrong-secret-1' });
  expectFail(wrong.steps[2]!, '02/01');

  const m = machine(env());
  const first = chapLogin(m, {}); // to learn the challenge the target will send next time: counter random is deterministic
  const reflected = chapLogin(machine(env()), { mutual: { id: 3, challenge: first.challenge! } });
  expectFail(reflected.steps[2]!, '02/01');

  const unsupported = chapLogin(machine(env()), { algList: '9,10' });
  expectFail(unsupported.steps[1]!, '02/01');

  const noCreds = chapLogin(machine(testEnv({ targets: [testTarget({ authenticationRequired: true })] })));
  expectFail(noCreds.steps[2]!, '02/01');
});

test('login: authentication required — skipping or refusing CHAP fails with 02/01', () => {
  const env = () => testEnv({ targets: [testTarget({ authenticationRequired: true, credentials: CREDS })] });
  expectFail(machine(env()).handle(loginRequest({ text: { ...FIRST, ...OPERATIONAL } })), '02/01');
  const none = machine(env()).handle(loginRequest({ csg: 0, nsg: 1, text: { ...FIRST, AuthMethod: 'None' } }));
  expectFail(none, '02/01');
  // Going to FFP from the middle of CHAP.
  const m = machine(env());
  assert.equal(m.handle(loginRequest({ csg: 0, nsg: 1, transit: false, text: { ...FIRST, AuthMethod: 'CHAP' } })).kind, 'continue');
  assert.equal(m.handle(loginRequest({ csg: 0, nsg: 1, transit: false, text: { CHAP_A: '5' } })).kind, 'continue');
  const jump = m.handle(loginRequest({ csg: 0, nsg: 3, transit: true, text: {} }));
  assert.equal(jump.kind, 'continue', 'T=1 with CHAP unfinished: the target stays in the stage');
  assert.equal(jump.response.transit, false);
  expectFail(m.handle(loginRequest({ csg: 1, nsg: 3, text: OPERATIONAL })), '02/00');
});

test('login: not required + no credentials → we only offer None; credentials → CHAP is chosen', () => {
  const a = machine().handle(loginRequest({ csg: 0, nsg: 1, text: { ...FIRST, AuthMethod: 'CHAP,None' } }));
  assert.equal(keysOf(a.response.data)['AuthMethod'], 'None');
  assert.equal(a.response.transit, true);
  const b = machine(testEnv({ targets: [testTarget({ credentials: CREDS })] })).handle(
    loginRequest({ csg: 0, nsg: 1, text: { ...FIRST, AuthMethod: 'CHAP,None' } }),
  );
  assert.equal(keysOf(b.response.data)['AuthMethod'], 'CHAP');
  assert.equal(b.response.transit, false);
  const c = machine(testEnv({ targets: [testTarget({ credentials: CREDS, parameters: { AuthMethod: 'None' } })] })).handle(
    loginRequest({ csg: 0, nsg: 1, text: { ...FIRST, AuthMethod: 'CHAP,None' } }),
  );
  assert.equal(keysOf(c.response.data)['AuthMethod'], 'None', 'TPG AuthMethod=None wins');
});

test('login: first-request errors — missing names, unknown target, other portal group, ACL, session type, version', () => {
  const cases: Array<[string, ReturnType<typeof loginRequest>, string, ReturnType<typeof testEnv>?]> = [
    ['missing InitiatorName', loginRequest({ text: { TargetName: TARGET } }), '02/07'],
    ['empty InitiatorName', loginRequest({ text: { InitiatorName: '', TargetName: TARGET } }), '02/07'],
    ['missing TargetName', loginRequest({ text: { InitiatorName: INITIATOR, SessionType: 'Normal' } }), '02/07'],
    ['unknown target', loginRequest({ text: { InitiatorName: INITIATOR, TargetName: 'iqn.2000-01.com.example:nope' } }), '02/03'],
    ['other portal group', loginRequest({ text: FIRST }), '02/03', testEnv({ targets: [testTarget({ tag: 2 })] })],
    ['ACL denial', loginRequest({ text: FIRST }), '02/02', testEnv({ targets: [testTarget({ allowed: () => false })] })],
    ['bad session type', loginRequest({ text: { ...FIRST, SessionType: 'Other' } }), '02/09'],
    ['VersionMin 1', loginRequest({ versionMin: 1, versionMax: 2, text: FIRST }), '02/05'],
    ['malformed text', loginRequest({ data: Buffer.from('InitiatorName') }), '02/00'],
  ];
  for (const [name, req, code, env] of cases) {
    const step = machine(env ?? testEnv()).handle(req);
    assert.equal(step.kind, 'fail', name);
    assert.equal(status(step.response), code, name);
    assert.equal(step.response.statSn, 7000, name);
    assert.equal(step.response.itt, 0x1000, name);
  }
});

test('login: stage and field violations are initiator errors (02/00)', () => {
  const cases: Array<[string, Array<ReturnType<typeof loginRequest>>]> = [
    ['NSG=2', [loginRequest({ nsg: 2, text: FIRST })]],
    ['NSG < CSG', [loginRequest({ csg: 1, nsg: 0, text: FIRST })]],
    ['NSG == CSG', [loginRequest({ csg: 1, nsg: 1, text: FIRST })]],
    ['CSG=3', [loginRequest({ csg: 3, nsg: 3, text: FIRST })]],
    ['T and C', [loginRequest({ continue: true, text: FIRST })]],
    ['CSG change without transit', [loginRequest({ csg: 0, nsg: 1, transit: false, text: { ...FIRST, AuthMethod: 'None' } }), loginRequest({ csg: 1, text: OPERATIONAL })]],
    ['ISID change', [loginRequest({ csg: 0, nsg: 1, text: { ...FIRST, AuthMethod: 'None' } }), loginRequest({ isid: Buffer.from('00023d000002', 'hex'), text: OPERATIONAL })]],
    ['ITT change', [loginRequest({ csg: 0, nsg: 1, text: { ...FIRST, AuthMethod: 'None' } }), loginRequest({ itt: 9, text: OPERATIONAL })]],
    ['CID change', [loginRequest({ csg: 0, nsg: 1, text: { ...FIRST, AuthMethod: 'None' } }), loginRequest({ cid: 9, text: OPERATIONAL })]],
    ['declaration changed across PDUs', [loginRequest({ csg: 0, nsg: 1, text: { ...FIRST, AuthMethod: 'None' } }), loginRequest({ text: { ...OPERATIONAL, InitiatorName: 'iqn.2000-01.com.example:other' } })]],
    ['negotiated key repeated across PDUs', [loginRequest({ transit: false, text: { ...FIRST, MaxBurstLength: '65536' } }), loginRequest({ text: { MaxBurstLength: '65536' } })]],
    ['operational key in security stage', [loginRequest({ csg: 0, nsg: 1, text: { ...FIRST, AuthMethod: 'None', MaxBurstLength: '65536' } })]],
    ['AuthMethod in operational stage', [loginRequest({ text: { ...FIRST, AuthMethod: 'None' } })]],
    ['SendTargets in login', [loginRequest({ text: { ...FIRST, SendTargets: 'All' } })]],
    ['CHAP keys without CHAP', [loginRequest({ csg: 0, nsg: 1, transit: false, text: { ...FIRST, AuthMethod: 'None', CHAP_A: '5' } })]],
    ['target-only key from initiator', [loginRequest({ text: { ...FIRST, TargetAlias: 'x' } })]],
    ['required digest refused', [loginRequest({ text: { ...FIRST, HeaderDigest: 'None' } })]],
  ];
  for (const [name, reqs] of cases) {
    const env = name === 'required digest refused' ? testEnv({ targets: [testTarget({ parameters: { HeaderDigest: 'CRC32C' } })] }) : testEnv();
    const m = machine(env);
    let last: LoginStep | undefined;
    for (const req of reqs) last = m.handle(req);
    assert.equal(last?.kind, 'fail', name);
    assert.equal(status(last!.response), '02/00', name);
    assert.equal(env.admitted.length, 0, name);
  }
});

test('login: digest required by config and never offered fails before FFP', () => {
  const env = testEnv({ targets: [testTarget({ parameters: { HeaderDigest: 'CRC32C' } })] });
  const m = machine(env);
  // The target proposes HeaderDigest=CRC32C itself and holds T=0 until answered.
  const s = m.handle(loginRequest({ text: FIRST }));
  assert.equal(s.kind, 'continue');
  assert.equal(s.response.transit, false);
  assert.equal(keysOf(s.response.data)['HeaderDigest'], 'CRC32C');
  const ok = expectComplete(m.handle(loginRequest({ text: { HeaderDigest: 'CRC32C' } })));
  assert.equal(ok.outcome.connection.headerDigest, true);
  const m2 = machine(testEnv({ targets: [testTarget({ parameters: { HeaderDigest: 'CRC32C' } })] }));
  m2.handle(loginRequest({ text: FIRST }));
  expectFail(m2.handle(loginRequest({ text: { HeaderDigest: 'Reject' } })), '02/00');
});

test('login: target-proposed key (ImmediateData=No configured, not offered) delays transit until answered', () => {
  const m = machine(testEnv({ targets: [testTarget({ parameters: { ImmediateData: 'No' } })] }));
  const ops: Record<string, string> = { ...OPERATIONAL };
  delete ops['ImmediateData'];
  const s1 = m.handle(loginRequest({ text: { ...FIRST, ...ops } }));
  assert.equal(s1.kind, 'continue');
  assert.equal(s1.response.transit, false);
  assert.equal(keysOf(s1.response.data)['ImmediateData'], 'No');
  const s2 = expectComplete(m.handle(loginRequest({ text: { ImmediateData: 'No' } })));
  assert.equal(s2.response.data.length, 0);
  assert.equal(s2.outcome.session.ImmediateData, false);
  assert.equal(s2.outcome.session.FirstBurstLength, 65536);
});

test('login: C-bit continuation of the initiator text, split inside a key', () => {
  const env = testEnv();
  const m = machine(env);
  const whole = text({ ...FIRST, ...OPERATIONAL });
  const cuts = [17, 150];
  const pieces = [whole.subarray(0, cuts[0]), whole.subarray(cuts[0], cuts[1]), whole.subarray(cuts[1])];
  const s1 = m.handle(loginRequest({ transit: false, continue: true, data: pieces[0]! }));
  const s2 = m.handle(loginRequest({ transit: false, continue: true, data: pieces[1]! }));
  for (const [i, s] of [s1, s2].entries()) {
    assert.equal(s.kind, 'continue');
    assert.deepEqual([status(s.response), s.response.transit, s.response.continue, s.response.data.length], ['00/00', false, false, 0]);
    assert.equal(s.response.statSn, 7000 + i);
  }
  const done = expectComplete(m.handle(loginRequest({ data: pieces[2]! })));
  assert.equal(done.response.statSn, 7002);
  assert.equal(keysOf(done.response.data)['MaxBurstLength'], '262144');
  assert.equal(done.outcome.initiatorName, INITIATOR);
  // A stage change in the middle of a continuation is an error.
  const m2 = machine();
  m2.handle(loginRequest({ csg: 0, transit: false, continue: true, data: pieces[0]! }));
  expectFail(m2.handle(loginRequest({ csg: 1, data: pieces[1]! })), '02/00');
});

test('login: our long answer goes out in C=1 pieces pulled by empty requests', () => {
  const m = machine(testEnv(), { maxLoginPduData: 512 });
  const many: Array<[string, string]> = Array.from({ length: 60 }, (_, i) => [`X-com.example.key${i}`, 'v']);
  const first = m.handle(loginRequest({ text: [...Object.entries(FIRST), ...many] }));
  const parts: Buffer[] = [];
  let step: LoginStep = first;
  let guard = 0;
  while (step.kind === 'continue' && step.response.continue && guard++ < 20) {
    assert.equal(step.response.transit, false, 'C=1 pieces never carry T=1');
    assert.ok(step.response.data.length <= 512);
    parts.push(step.response.data);
    step = m.handle(loginRequest({ data: Buffer.alloc(0) }));
  }
  const done = expectComplete(step);
  parts.push(done.response.data);
  assert.ok(parts.length >= 4, `pieces: ${parts.length}`);
  const all = pairsOf(Buffer.concat(parts));
  assert.equal(all.filter(([, v]) => v === 'NotUnderstood').length, 60);
  assert.deepEqual(all.slice(-2), [
    ['TargetPortalGroupTag', '1'],
    ['MaxRecvDataSegmentLength', '8192'],
  ]);
  assert.equal(done.response.statSn, 7000 + parts.length - 1);
  // Text in a pull request is an error.
  const m2 = machine(testEnv(), { maxLoginPduData: 512 });
  m2.handle(loginRequest({ text: [...Object.entries(FIRST), ...many] }));
  expectFail(m2.handle(loginRequest({ text: { MaxBurstLength: '512' } })), '02/00');
});

test('login: discovery session without authentication', () => {
  const env = testEnv({ discoveryParameters: { MaxRecvDataSegmentLength: '32768' } });
  const m = machine(env);
  const s1 = m.handle(loginRequest({ csg: 0, nsg: 1, text: { InitiatorName: INITIATOR, SessionType: 'Discovery', TargetName: 'ignored', AuthMethod: 'None' } }));
  assert.equal(s1.kind, 'continue');
  assert.deepEqual(keysOf(s1.response.data), { AuthMethod: 'None' }, 'no TPGT in discovery sessions');
  const s2 = expectComplete(m.handle(loginRequest({ text: { HeaderDigest: 'None', MaxBurstLength: '65536', DefaultTime2Wait: '2', MaxRecvDataSegmentLength: '32768' } })));
  assert.deepEqual(keysOf(s2.response.data), {
    HeaderDigest: 'None',
    MaxBurstLength: 'Irrelevant',
    DefaultTime2Wait: '2',
    MaxRecvDataSegmentLength: '32768',
  });
  assert.equal(s2.outcome.sessionType, 'Discovery');
  assert.equal(s2.outcome.target, undefined);
  assert.equal(s2.outcome.session.TargetName, undefined);
  assert.equal(s2.outcome.session.TargetPortalGroupTag, 1);
  assert.equal(env.admitted.length, 1);
});

test('login: discovery session with discovery authentication', () => {
  const discovery = { InitiatorName: INITIATOR, SessionType: 'Discovery' };
  const env = () => testEnv({ discoveryAuth: { required: true, credentials: { userid: 'user1', password: CREDS.password } }, targets: [] });
  const m = machine(env());
  const { steps } = chapLogin(m, { first: discovery });
  assert.equal(steps[2]?.kind, 'continue');
  assert.equal(steps[2]?.response.transit, true);
  const done = expectComplete(m.handle(loginRequest({ text: { MaxRecvDataSegmentLength: '8192' } })));
  assert.equal(done.outcome.authenticated, true);
  expectFail(chapLogin(machine(env()), { first: discovery, secret: 'nope-nope-nope' }).steps[2]!, '02/01');
  expectFail(machine(env()).handle(loginRequest({ text: discovery })), '02/01');
  // Login authentication of targets does not apply to discovery.
  const open = testEnv({ targets: [testTarget({ authenticationRequired: true })] });
  expectComplete(machine(open).handle(loginRequest({ text: discovery })));
});

test('login: reinstatement and admission — admit sees ISID/TSIH/InitiatorName, its failure is returned', () => {
  const seen: Array<{ isid: string; tsih: number; name: string }> = [];
  const env = testEnv({
    admit: (o) => {
      seen.push({ isid: o.isid.toString('hex'), tsih: o.tsih, name: o.initiatorName });
      return o.tsih === 0 ? { ok: true, tsih: 7 } : { ok: false, statusClass: 2, statusDetail: 0x0a };
    },
  });
  const a = expectComplete(machine(env).handle(loginRequest({ text: FIRST })));
  assert.equal(a.response.tsih, 7);
  const b = machine(env).handle(loginRequest({ tsih: 7, text: FIRST }));
  expectFail(b, '02/0a');
  assert.equal(b.response.tsih, 7, 'failed responses echo the request TSIH');
  assert.deepEqual(seen, [
    { isid: ISID.toString('hex'), tsih: 0, name: INITIATOR },
    { isid: ISID.toString('hex'), tsih: 7, name: INITIATOR },
  ]);
  const oom = machine(testEnv({ admit: () => ({ ok: false, statusClass: 3, statusDetail: 2 }) })).handle(loginRequest({ text: FIRST }));
  expectFail(oom, '03/02');
});

test('login: exceptions inside hooks become target errors (03/00), never throws', () => {
  const throwingAdmit = testEnv({
    admit: () => {
      throw new Error('boom');
    },
  });
  expectFail(machine(throwingAdmit).handle(loginRequest({ text: FIRST })), '03/00');
  const throwingRandom = testEnv({
    targets: [testTarget({ credentials: CREDS })],
    randomBytes: () => {
      throw new Error('no entropy');
    },
  });
  const s = chapLogin(machine(throwingRandom));
  expectFail(s.steps[1]!, '03/00');
  const throwingAcl = testEnv({
    targets: [
      {
        ...testTarget(),
        authorize: () => {
          throw new Error('acl');
        },
      },
    ],
  });
  expectFail(machine(throwingAcl).handle(loginRequest({ text: FIRST })), '03/00');
});

test('login: sequence numbers — StatSN per response, ExpCmdSN = CmdSN, MaxCmdSN with wrap-around', () => {
  const m = machine();
  const s1 = m.handle(loginRequest({ csg: 0, nsg: 1, expStatSn: 0xffffffff, cmdSn: 0xfffffff0, text: { ...FIRST, AuthMethod: 'None' } }));
  assert.equal(s1.response.statSn, 0xffffffff);
  assert.equal(s1.response.expCmdSn, 0xfffffff0);
  assert.equal(s1.response.maxCmdSn, (0xfffffff0 + QD - 1) >>> 0);
  const s2 = expectComplete(m.handle(loginRequest({ expStatSn: 0, cmdSn: 0xfffffff0, text: OPERATIONAL })));
  assert.equal(s2.response.statSn, 0);
  assert.equal(s2.outcome.statSn, 1);
  assert.equal(s2.outcome.expCmdSn, 0xfffffff0);
});

test('login: libiscsi re-sends its names in the operational PDU after AuthMethod=None — identical values are accepted', () => {
  const m = machine();
  const s1 = m.handle(loginRequest({ csg: 0, nsg: 1, text: { ...FIRST, AuthMethod: 'CHAP,None' } }));
  assert.equal(keysOf(s1.response.data)['AuthMethod'], 'None');
  assert.equal(s1.response.transit, true);
  const done = expectComplete(m.handle(loginRequest({ text: { ...FIRST, ...OPERATIONAL } })));
  assert.equal(done.outcome.initiatorName, INITIATOR);
  assert.equal(keysOf(done.response.data)['InitiatorName'], undefined, 'declarations are not answered');
});

test('login: property — arbitrary request sequences never hit an internal error (03/xx) and end cleanly', async () => {
  const fc = (await import('fast-check')).default;
  const { KEYS } = await import('../../src/iscsi/negotiation/index.js');
  const keyArb = fc.oneof(fc.constantFrom(...KEYS.keys(), 'InitiatorName', 'TargetName', 'X-foo'), fc.constantFrom('CHAP_N', 'CHAP_R'));
  const valueArb = fc.oneof(
    fc.constantFrom(INITIATOR, TARGET, 'Normal', 'Discovery', 'None', 'CHAP', 'CHAP,None', '5', '7,5', 'Yes', 'No', '0', '512', '65536', '0x10', 'Reject', ''),
    fc.string({ maxLength: 12 }),
  );
  const reqArb = fc.record({
    transit: fc.boolean(),
    continue: fc.boolean(),
    csg: fc.constantFrom(0, 1, 1, 3),
    nsg: fc.constantFrom(0, 1, 3, 3, 2),
    pairs: fc.uniqueArray(fc.tuple(keyArb, valueArb), { maxLength: 8, selector: ([k]) => k }),
  });
  fc.assert(
    fc.property(fc.array(reqArb, { minLength: 1, maxLength: 6 }), fc.boolean(), (reqs, authRequired) => {
      const m = machine(testEnv({ targets: [testTarget({ authenticationRequired: authRequired, credentials: CREDS })] }));
      let ended = false;
      for (const r of reqs) {
        const step = m.handle(loginRequest({ transit: r.transit, continue: r.continue, csg: r.csg, nsg: r.nsg, text: [...Object.entries(FIRST), ...r.pairs] }));
        assert.notEqual(step.response.statusClass, 3, `internal error for ${JSON.stringify(r)}`);
        if (ended) assert.equal(step.kind, 'fail', 'nothing succeeds after the login ended');
        if (step.kind !== 'continue') ended = true;
        if (step.kind === 'complete' && authRequired) assert.equal(step.outcome.authenticated, true);
      }
    }),
    { numRuns: 500 },
  );
});
