import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RESERVED_TAG } from '../../src/pdu/types.js';
import { TextExchange, formatTargetAddress, type SendTargetsEntry, type TextStep } from '../../src/iscsi/text/index.js';
import { pairsOf, text, textRequest } from './helpers.js';

const ENTRIES: SendTargetsEntry[] = [
  {
    name: 'iqn.2003-01.org.example:disk1',
    addresses: [formatTargetAddress('192.168.1.10', 3260, 1), formatTargetAddress('fe80::1:2', 3260, 1)],
  },
  {
    name: 'iqn.2003-01.org.example:disk2',
    addresses: [formatTargetAddress('10.0.0.5', 3261, 2), formatTargetAddress('::', 3260, 2)],
  },
];

function exchange(o: { maxXmit?: number; sessionType?: 'Normal' | 'Discovery'; onMax?: (n: number) => void; maxRequestBytes?: number } = {}) {
  const queries: string[] = [];
  const x = new TextExchange({
    maxXmitDataSegmentLength: () => o.maxXmit ?? 8192,
    sessionType: o.sessionType ?? 'Discovery',
    sendTargets: (q) => {
      queries.push(q);
      if (q === 'All') return ENTRIES;
      if (q === '') return [ENTRIES[0]!];
      return ENTRIES.filter((e) => e.name === q);
    },
    negotiableParameters: { local: { MaxRecvDataSegmentLength: '65536' }, ...(o.onMax ? { onMaxXmitDataSegmentLength: o.onMax } : {}) },
    ...(o.maxRequestBytes !== undefined ? { maxRequestBytes: o.maxRequestBytes } : {}),
  });
  return { x, queries };
}

function respond(step: TextStep) {
  assert.equal(step.kind, 'respond');
  if (step.kind !== 'respond') throw new Error('unreachable');
  return step;
}

test('text: IPv6 TargetAddress in brackets', () => {
  assert.equal(formatTargetAddress('fe80::1:2', 3260, 1), '[fe80::1:2]:3260,1');
  assert.equal(formatTargetAddress('10.0.0.5', 3261, 7), '10.0.0.5:3261,7');
  assert.equal(formatTargetAddress('[::1]', 3260, 1), '[::1]:3260,1');
});

test('text: SendTargets=All over two targets with v4 and v6 portals', () => {
  const { x, queries } = exchange();
  const r = respond(x.handle(textRequest({ text: { SendTargets: 'All' } })));
  assert.deepEqual([r.final, r.continue, r.ttt], [true, false, RESERVED_TAG]);
  assert.deepEqual(queries, ['All']);
  assert.deepEqual(pairsOf(r.data), [
    ['TargetName', 'iqn.2003-01.org.example:disk1'],
    ['TargetAddress', '192.168.1.10:3260,1'],
    ['TargetAddress', '[fe80::1:2]:3260,1'],
    ['TargetName', 'iqn.2003-01.org.example:disk2'],
    ['TargetAddress', '10.0.0.5:3261,2'],
    ['TargetAddress', '[::]:3260,2'],
  ]);
});

test('text: SendTargets=<iqn>, unknown iqn, and the empty value', () => {
  const { x, queries } = exchange({ sessionType: 'Normal' });
  const one = respond(x.handle(textRequest({ text: { SendTargets: 'iqn.2003-01.org.example:disk2' } })));
  assert.equal(pairsOf(one.data)[0]?.[1], 'iqn.2003-01.org.example:disk2');
  assert.equal(pairsOf(one.data).length, 3);
  const none = respond(x.handle(textRequest({ itt: 0x56, text: { SendTargets: 'iqn.2003-01.org.example:nope' } })));
  assert.equal(none.data.length, 0);
  const current = respond(x.handle(textRequest({ itt: 0x57, text: { SendTargets: '' } })));
  assert.equal(pairsOf(current.data)[0]?.[1], 'iqn.2003-01.org.example:disk1');
  assert.deepEqual(queries, ['iqn.2003-01.org.example:disk2', 'iqn.2003-01.org.example:nope', '']);
  // No "current target" in a discovery session.
  const d = exchange({ sessionType: 'Discovery' });
  assert.deepEqual(pairsOf(respond(d.x.handle(textRequest({ text: { SendTargets: '' } }))).data), [['SendTargets', 'Reject']]);
  assert.deepEqual(d.queries, []);
});

test('text: long response split at maxXmit, pulled with the TTT; the parts concatenate to the whole', () => {
  const whole = respond(exchange().x.handle(textRequest({ text: { SendTargets: 'All' } }))).data;
  const { x } = exchange({ maxXmit: 64 });
  const parts: Buffer[] = [];
  let step = respond(x.handle(textRequest({ text: { SendTargets: 'All' } })));
  const ttts = new Set<number>();
  let guard = 0;
  while (!step.final && guard++ < 50) {
    assert.equal(step.continue, true);
    assert.notEqual(step.ttt, RESERVED_TAG);
    assert.ok(step.data.length === 64);
    ttts.add(step.ttt);
    parts.push(step.data);
    step = respond(x.handle(textRequest({ ttt: step.ttt, final: true })));
  }
  assert.equal(step.continue, false);
  assert.equal(step.ttt, RESERVED_TAG);
  parts.push(step.data);
  assert.deepEqual(Buffer.concat(parts), whole);
  assert.equal(parts.length, Math.ceil(whole.length / 64));
  assert.equal(ttts.size, parts.length - 1);
});

test('text: a new request (reserved TTT) abandons the pending long response', () => {
  const { x } = exchange({ maxXmit: 64 });
  const first = respond(x.handle(textRequest({ text: { SendTargets: 'All' } })));
  assert.equal(first.continue, true);
  const fresh = respond(x.handle(textRequest({ itt: 0x99, text: { SendTargets: 'iqn.2003-01.org.example:disk2' } })));
  assert.equal(fresh.continue, true);
  assert.ok(fresh.data.toString().startsWith('TargetName=iqn.2003-01.org.example:disk2'));
  // The old TTT is now stale.
  assert.deepEqual(x.handle(textRequest({ ttt: first.ttt })), { kind: 'reject', reason: 'invalid-field' });
});

test('text: pulling with a wrong TTT/ITT, or with text, is rejected', () => {
  const { x } = exchange({ maxXmit: 64 });
  const first = respond(x.handle(textRequest({ text: { SendTargets: 'All' } })));
  assert.deepEqual(x.handle(textRequest({ ttt: first.ttt + 1000 })), { kind: 'reject', reason: 'invalid-field' });
  const again = respond(x.handle(textRequest({ text: { SendTargets: 'All' } })));
  assert.deepEqual(x.handle(textRequest({ ttt: again.ttt, itt: 0x1234 })), { kind: 'reject', reason: 'invalid-field' });
  const third = respond(x.handle(textRequest({ text: { SendTargets: 'All' } })));
  assert.deepEqual(x.handle(textRequest({ ttt: third.ttt, text: { SendTargets: 'All' } })), { kind: 'reject', reason: 'protocol' });
  assert.deepEqual(x.handle(textRequest({ final: true, continue: true })), { kind: 'reject', reason: 'protocol' });
});

test('text: a request split with the C bit accumulates until C=0', () => {
  const { x, queries } = exchange();
  const whole = text({ SendTargets: 'All', 'X-com.example.foo': 'bar' });
  const a = respond(x.handle(textRequest({ final: false, continue: true, data: whole.subarray(0, 7) })));
  assert.deepEqual([a.final, a.continue, a.data.length], [false, false, 0]);
  assert.notEqual(a.ttt, RESERVED_TAG);
  const b = respond(x.handle(textRequest({ final: false, continue: true, ttt: a.ttt, data: whole.subarray(7, 20) })));
  assert.equal(b.data.length, 0);
  assert.deepEqual(queries, []);
  const c = respond(x.handle(textRequest({ ttt: b.ttt, data: whole.subarray(20) })));
  assert.equal(c.final, true);
  assert.deepEqual(queries, ['All']);
  assert.deepEqual(pairsOf(c.data).slice(-1), [['X-com.example.foo', 'NotUnderstood']]);
  assert.equal(pairsOf(c.data).length, 7);
});

test('text: accumulated request size is capped', () => {
  const { x } = exchange({ maxRequestBytes: 100 });
  const a = respond(x.handle(textRequest({ final: false, continue: true, data: Buffer.alloc(60, 0x41) })));
  assert.deepEqual(x.handle(textRequest({ final: false, continue: true, ttt: a.ttt, data: Buffer.alloc(60, 0x41) })), { kind: 'reject', reason: 'protocol' });
});

test('text: other keys in full feature phase — MaxRecvDataSegmentLength, login-only, unknown', () => {
  const declared: number[] = [];
  const { x } = exchange({ sessionType: 'Normal', onMax: (n) => declared.push(n) });
  const r = respond(
    x.handle(
      textRequest({
        text: [
          ['MaxRecvDataSegmentLength', '131072'],
          ['MaxBurstLength', '65536'],
          ['HeaderDigest', 'CRC32C'],
          ['X-com.example.Thing', 'Yes'],
          ['Frobnicate', '1'],
        ],
      }),
    ),
  );
  assert.deepEqual(pairsOf(r.data), [
    ['MaxBurstLength', 'Reject'],
    ['HeaderDigest', 'Reject'],
    ['X-com.example.Thing', 'NotUnderstood'],
    ['Frobnicate', 'NotUnderstood'],
  ]);
  assert.deepEqual(declared, [131072]);
  const bad = respond(x.handle(textRequest({ itt: 0x60, text: { MaxRecvDataSegmentLength: '100' } })));
  assert.deepEqual(pairsOf(bad.data), [['MaxRecvDataSegmentLength', 'Reject']]);
  assert.deepEqual(declared, [131072]);
  // A new exchange may declare it again.
  respond(x.handle(textRequest({ itt: 0x61, text: { MaxRecvDataSegmentLength: '16384' } })));
  assert.deepEqual(declared, [131072, 16384]);
  // Malformed text.
  assert.deepEqual(x.handle(textRequest({ itt: 0x62, data: Buffer.from('novalue\0') })), { kind: 'reject', reason: 'protocol' });
});

test('text: a non-final request keeps the exchange open with a TTT', () => {
  const { x } = exchange({ sessionType: 'Normal' });
  const a = respond(x.handle(textRequest({ final: false, text: { 'X-a': '1' } })));
  assert.deepEqual([a.final, a.continue], [false, false]);
  assert.notEqual(a.ttt, RESERVED_TAG);
  const b = respond(x.handle(textRequest({ ttt: a.ttt, text: { 'X-b': '2' } })));
  assert.deepEqual([b.final, b.ttt], [true, RESERVED_TAG]);
  assert.deepEqual(pairsOf(b.data), [['X-b', 'NotUnderstood']]);
});
