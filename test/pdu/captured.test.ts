// PDUs captured from a real initiator (libiscsi 1.19's iscsi-inq and iscsi-ls,
// recorded with scripts/capture-pdus.mjs): they decode, re-encode to the same
// bytes, frame at every split point, and the recorded sessions replay against
// a live tsgt with every response successful.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { PduFramer, type ReceivedFrame } from '../../src/pdu/framer.js';
import { decodePdu } from '../../src/pdu/decode.js';
import { encodePdu } from '../../src/pdu/encode.js';
import { serializeFrame } from '../../src/pdu/wire.js';
import { parseTextParameters } from '../../src/pdu/text-keys.js';
import { Opcode, type LoginRequest } from '../../src/pdu/types.js';
import { MiniInitiator } from '../protocol/mini-initiator.js';
import { startRamTarget } from '../protocol/fixture.js';

const DIR = fileURLToPath(new URL('../../../test/fixtures/pdu/captured/', import.meta.url));
const files = readdirSync(DIR).filter((f) => f.endsWith('.hex')).sort();

function load(name: string): Buffer {
  const text = readFileSync(join(DIR, name), 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('');
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function frameAll(bytes: Buffer, cuts: number[]): ReceivedFrame[] {
  const out: ReceivedFrame[] = [];
  const f = new PduFramer({ maxDataSegmentLength: 1 << 20, headerDigest: false, dataDigest: false }, (x) => out.push(x), (e) => assert.fail(e.reason));
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    f.push(bytes.subarray(at, c));
    at = c;
  }
  return out;
}

test('captured initiator PDUs decode and re-encode byte for byte', () => {
  assert.ok(files.length >= 8);
  for (const name of files) {
    const wire = load(name);
    const [frame] = frameAll(wire, []);
    const d = decodePdu(frame);
    assert.ok(d.ok, `${name}: ${d.ok ? '' : d.message}`);
    const again = Buffer.concat(serializeFrame(encodePdu(d.pdu), { header: false, data: false }));
    assert.ok(again.equals(wire), `${name} re-encodes identically`);
  }
});

test('captured PDUs frame identically at every split point', () => {
  for (const name of files) {
    const wire = load(name);
    for (let cut = 0; cut <= wire.length; cut++) {
      const frames = frameAll(wire, [cut]);
      assert.equal(frames.length, 1, `${name} cut at ${cut}`);
      assert.ok(Buffer.concat([frames[0].bhs, frames[0].data]).equals(wire.subarray(0, 48 + frames[0].data.length)));
    }
  }
});

test('libiscsi first login PDU carries the keys open-iscsi users know', () => {
  const [frame] = frameAll(load('libiscsi-inq-00-login.hex'), []);
  const d = decodePdu(frame);
  assert.ok(d.ok && d.pdu.opcode === Opcode.LoginRequest);
  const login = d.pdu as LoginRequest;
  assert.equal(login.csg, 1);
  assert.equal(login.nsg, 3);
  assert.ok(login.transit);
  const p = parseTextParameters(login.data);
  assert.ok(p.ok);
  const keys = new Map(p.pairs);
  assert.equal(keys.get('SessionType'), 'Normal');
  assert.equal(keys.get('HeaderDigest'), 'None,CRC32C');
  assert.equal(keys.get('MaxRecvDataSegmentLength'), '262144');
  assert.equal(keys.get('ErrorRecoveryLevel'), '0');
});

for (const session of ['libiscsi-inq', 'libiscsi-ls-discovery']) {
  test(`the captured ${session} session replays against tsgt`, async () => {
    const parts = files.filter((f) => f.startsWith(`${session}-`));
    const t = await startRamTarget({ tsgt: { version: 1, nop_in_interval: 0 } });
    try {
      const i = await MiniInitiator.connect(t.port);
      for (const name of parts) {
        const [frame] = frameAll(load(name), []);
        const d = decodePdu(frame);
        assert.ok(d.ok);
        const pdu = d.pdu;
        // The recorded session named another target: point the login at ours.
        if (pdu.opcode === Opcode.LoginRequest) {
          const p = parseTextParameters(pdu.data);
          assert.ok(p.ok);
          const pairs = p.pairs.map(([k, v]): [string, string] => [k, k === 'TargetName' ? 'iqn.2025-01.org.tsgt:protocol' : v]);
          pdu.data = Buffer.from(pairs.map(([k, v]) => `${k}=${v}\0`).join(''));
        }
        i.send(pdu);
        const itt = (pdu as { itt: number }).itt;
        const r = await i.next((x) => (x as { itt?: number }).itt === itt);
        if (r.opcode === Opcode.LoginResponse) assert.equal(r.statusClass, 0, `${name}: login status ${r.statusClass}/${r.statusDetail}`);
        if (r.opcode === Opcode.DataIn) assert.ok(r.statusPresent ? r.status === 0 || r.status === 2 : true);
        if (r.opcode === Opcode.ScsiResponse) assert.ok(r.status === 0 || r.status === 2, `${name}: SCSI status ${r.status}`);
        if (r.opcode === Opcode.LogoutResponse) assert.equal(r.response, 0);
        if (r.opcode === Opcode.TextResponse) assert.match(r.data.toString(), /TargetName=iqn\.2025-01\.org\.tsgt:protocol\0TargetAddress=127\.0\.0\.1:\d+,1\0/);
        assert.notEqual(r.opcode, Opcode.Reject, `${name} was rejected`);
      }
      i.close();
    } finally {
      await t.server.close();
    }
  });
}
