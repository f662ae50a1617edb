import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFixtures, cutFrame } from './fixtures.js';
import { referenceCrc32c, referenceDigestBytes, withDigests } from './crc32c-reference.js';
import { PduFramer, encodeNopOut, lunToBuffer, serializeFrame, Opcode } from '../../src/pdu/index.js';
import type { FramerError, FramerLimits, ReceivedFrame } from '../../src/pdu/index.js';

const fixtures = loadFixtures();

function collect(limits: FramerLimits) {
  const frames: ReceivedFrame[] = [];
  const errors: FramerError[] = [];
  const framer = new PduFramer(limits, (f) => frames.push(f), (e) => errors.push(e));
  return { framer, frames, errors };
}

const plain: FramerLimits = { maxDataSegmentLength: 1 << 20, headerDigest: false, dataDigest: false };
const digested: FramerLimits = { maxDataSegmentLength: 1 << 20, headerDigest: true, dataDigest: true };

function assertSameFrame(got: ReceivedFrame, bytes: Buffer, what: string): void {
  const want = cutFrame(bytes);
  assert.deepEqual(got.bhs, want.bhs, what);
  assert.deepEqual(got.ahs, want.ahs, what);
  assert.deepEqual(got.data, want.data, what);
  assert.equal(got.dataDigestError, false, what);
}

test('reference CRC32C passes the standard check vector', () => {
  assert.equal(referenceCrc32c(Buffer.from('123456789')), 0xe3069283);
  // RFC 3720 App. B.4: 32 zero bytes → aa 36 91 8a on the wire.
  assert.deepEqual(referenceDigestBytes(Buffer.alloc(32)), Buffer.from('aa36918a', 'hex'));
});

for (const digests of [false, true]) {
  const limits = digests ? digested : plain;
  const tag = digests ? 'with header+data digests' : 'without digests';

  test(`framer ${tag}: every fixture split at every byte boundary yields exactly that frame`, () => {
    for (const fx of fixtures) {
      const wire = withDigests(fx.bytes, digests, digests);
      for (let cut = 0; cut <= wire.length; cut++) {
        const { framer, frames, errors } = collect({ ...limits });
        framer.push(wire.subarray(0, cut));
        framer.push(wire.subarray(cut));
        assert.deepEqual(errors, [], `${fx.name} cut ${cut}`);
        assert.equal(frames.length, 1, `${fx.name} cut ${cut}`);
        assertSameFrame(frames[0], fx.bytes, `${fx.name} cut ${cut}`);
        assert.ok(framer.atBoundary);
      }
    }
  });

  test(`framer ${tag}: byte-by-byte delivery yields exactly one frame per fixture`, () => {
    for (const fx of fixtures) {
      const wire = withDigests(fx.bytes, digests, digests);
      const { framer, frames, errors } = collect({ ...limits });
      for (let i = 0; i < wire.length; i++) {
        framer.push(wire.subarray(i, i + 1));
        if (i < wire.length - 1) assert.equal(frames.length, 0, `${fx.name} early frame at byte ${i}`);
      }
      assert.deepEqual(errors, []);
      assert.equal(frames.length, 1, fx.name);
      assertSameFrame(frames[0], fx.bytes, fx.name);
    }
  });

  test(`framer ${tag}: all fixtures back to back in one chunk, in order`, () => {
    const wire = Buffer.concat(fixtures.map((fx) => withDigests(fx.bytes, digests, digests)));
    const { framer, frames, errors } = collect({ ...limits });
    framer.push(wire);
    assert.deepEqual(errors, []);
    assert.equal(frames.length, fixtures.length);
    fixtures.forEach((fx, i) => assertSameFrame(frames[i], fx.bytes, fx.name));
  });

  test(`serializeFrame ${tag} produces the hand-assembled wire bytes`, () => {
    for (const fx of fixtures) {
      const out = Buffer.concat(serializeFrame(fx.frame, { header: digests, data: digests }));
      assert.deepEqual(out, withDigests(fx.bytes, digests, digests), fx.name);
    }
  });
}

test('header digest only / data digest only are independent', () => {
  for (const [h, d] of [[true, false], [false, true]] as const) {
    for (const fx of fixtures) {
      const wire = withDigests(fx.bytes, h, d);
      assert.deepEqual(Buffer.concat(serializeFrame(fx.frame, { header: h, data: d })), wire);
      const { framer, frames, errors } = collect({ maxDataSegmentLength: 1 << 20, headerDigest: h, dataDigest: d });
      framer.push(wire);
      assert.deepEqual(errors, []);
      assert.equal(frames.length, 1);
      assertSameFrame(frames[0], fx.bytes, fx.name);
    }
  }
});

function nopWithData(n: number): Buffer {
  const data = Buffer.alloc(n, 0x5a);
  const frame = encodeNopOut({ opcode: Opcode.NopOut, immediate: true, lun: lunToBuffer(0), itt: 1, ttt: 0xffffffff, cmdSn: 1, expStatSn: 1, data });
  return Buffer.concat(serializeFrame(frame, { header: false, data: false }));
}

test('padding is consumed for data lengths 1..5, with and without data digest', () => {
  for (const n of [1, 2, 3, 4, 5]) {
    const bytes = nopWithData(n);
    assert.equal(bytes.length, 48 + Math.ceil(n / 4) * 4);
    for (const dd of [false, true]) {
      const wire = withDigests(bytes, false, dd);
      const { framer, frames, errors } = collect({ maxDataSegmentLength: 64, headerDigest: false, dataDigest: dd });
      // Two copies back to back: a mis-consumed pad would desynchronise the second.
      framer.push(Buffer.concat([wire, wire]));
      assert.deepEqual(errors, []);
      assert.equal(frames.length, 2, `n=${n} dd=${dd}`);
      for (const f of frames) {
        assert.equal(f.data.length, n);
        assert.equal(f.dataDigestError, false);
      }
    }
  }
});

test('DataSegmentLength over the limit is fatal as soon as the BHS is complete', () => {
  const bytes = nopWithData(100);
  const { framer, frames, errors } = collect({ maxDataSegmentLength: 99, headerDigest: false, dataDigest: false });
  framer.push(bytes.subarray(0, 48)); // header only, no payload yet
  assert.equal(errors.length, 1);
  assert.equal(errors[0].kind, 'fatal');
  assert.match(errors[0].reason, /DataSegmentLength 100/);
  assert.ok(framer.failed);
  framer.push(bytes.subarray(48));
  framer.push(nopWithData(4));
  assert.equal(frames.length, 0);
  assert.equal(errors.length, 1, 'input after a fatal error is ignored');
});

test('AHS over maxAhsLength is fatal', () => {
  const bytes = Buffer.from(nopWithData(0));
  bytes[4] = 2;
  const { framer, errors } = collect({ maxDataSegmentLength: 64, headerDigest: false, dataDigest: false, maxAhsLength: 4 });
  framer.push(bytes);
  assert.equal(errors.length, 1);
  assert.match(errors[0].reason, /AHS/);
});

test('a corrupt header digest is fatal', () => {
  const fx = fixtures.find((f) => f.name === 'scsi-command-ext-cdb')!;
  const wire = withDigests(fx.bytes, true, true);
  for (const at of [3, 60 /* inside the AHS */, 48 + 28 + 1 /* the digest itself */]) {
    const bad = Buffer.from(wire);
    bad[at] ^= 0x01;
    const { framer, frames, errors } = collect({ ...digested });
    framer.push(bad);
    assert.equal(frames.length, 0, `flip at ${at}`);
    assert.equal(errors.length, 1);
    assert.match(errors[0].reason, /header digest/);
  }
});

test('a corrupt data digest delivers the frame flagged dataDigestError and keeps framing', () => {
  const bytes = nopWithData(5);
  const wire = withDigests(bytes, true, true);
  for (const at of [48 + 4 + 2 /* data */, 48 + 4 + 6 /* pad byte */, wire.length - 1 /* digest */]) {
    const bad = Buffer.from(wire);
    bad[at] ^= 0x80;
    const { framer, frames, errors } = collect({ ...digested });
    framer.push(Buffer.concat([bad, wire]));
    assert.deepEqual(errors, []);
    assert.equal(frames.length, 2, `flip at ${at}`);
    assert.equal(frames[0].dataDigestError, true, `flip at ${at}`);
    assert.equal(frames[1].dataDigestError, false);
  }
});

test('limits changed inside onFrame apply from the next frame (digests switched on after login)', () => {
  const first = nopWithData(3);
  const second = withDigests(nopWithData(3), true, true);
  const frames: ReceivedFrame[] = [];
  const errors: FramerError[] = [];
  const framer: PduFramer = new PduFramer(
    { maxDataSegmentLength: 64, headerDigest: false, dataDigest: false },
    (f) => {
      frames.push(f);
      framer.limits = { ...framer.limits, headerDigest: true, dataDigest: true };
    },
    (e) => errors.push(e),
  );
  framer.push(Buffer.concat([first, second]));
  assert.deepEqual(errors, []);
  assert.equal(frames.length, 2);
  assert.equal(frames[1].dataDigestError, false);
});

test('segments inside one chunk are zero-copy views; spanning segments are allocated once', () => {
  // A dedicated ArrayBuffer: small Buffers otherwise share Node's allocation pool.
  const bytes = Buffer.from(new ArrayBuffer(88));
  nopWithData(40).copy(bytes);
  const { framer, frames } = collect({ ...plain });
  framer.push(bytes);
  assert.equal(frames[0].bhs.buffer, bytes.buffer);
  assert.equal(frames[0].data.buffer, bytes.buffer);
  assert.equal(frames[0].data.byteOffset, bytes.byteOffset + 48);

  const c = collect({ ...plain });
  c.framer.push(bytes.subarray(0, 60));
  c.framer.push(bytes.subarray(60));
  const f = c.frames[0];
  assert.equal(f.bhs.buffer, bytes.buffer, 'BHS was inside the first chunk');
  assert.notEqual(f.data.buffer, bytes.buffer, 'data spanned chunks');
  assert.equal(f.data.length, 40);
  assert.deepEqual(f.data, Buffer.alloc(40, 0x5a));
});

test('transient chunks: every frame is its own copy (data from allocate), intact after the chunk is overwritten, at every split', () => {
  for (const limits of [plain, digested]) {
    const pdus = [nopWithData(0), nopWithData(40), nopWithData(4096), nopWithData(3)];
    const wire = pdus.map((b) => (limits.headerDigest ? Buffer.concat(serializeFrame(cutFrame(b), { header: true, data: true })) : b));
    const stream = Buffer.concat(wire);
    for (let split = 1; split < stream.length; split += 7) {
      const allocated: number[] = [];
      const frames: ReceivedFrame[] = [];
      const framer = new PduFramer(limits, (f) => frames.push(f), (e) => assert.fail(e.reason), (n) => {
        allocated.push(n);
        return Buffer.allocUnsafe(n);
      });
      // One reused read buffer, scribbled over after every push, as the socket reader does.
      const reused = Buffer.alloc(stream.length);
      for (const [from, to] of [[0, split], [split, stream.length]]) {
        stream.copy(reused, 0, from, to);
        framer.push(reused.subarray(0, to - from), true);
        reused.fill(0xee);
      }
      assert.equal(frames.length, pdus.length, `split ${split}`);
      frames.forEach((f, i) => {
        assert.notEqual(f.bhs.buffer, reused.buffer);
        assertSameFrame(f, pdus[i], `split ${split}, PDU ${i}`);
      });
      assert.deepEqual(allocated, [40, 4096, 3], 'every data segment came from allocate');
    }
  }
});

test('small data segments spanning chunks are not clobbered by later digests', () => {
  const wire = withDigests(nopWithData(3), true, true);
  const { framer, frames, errors } = collect({ ...digested });
  // Split inside the data, then byte-wise across pad and digest, then another PDU.
  framer.push(wire.subarray(0, 53));
  for (let i = 53; i < wire.length; i++) framer.push(wire.subarray(i, i + 1));
  framer.push(wire);
  assert.deepEqual(errors, []);
  assert.equal(frames.length, 2);
  assert.deepEqual(frames[0].data, Buffer.from([0x5a, 0x5a, 0x5a]));
});

test('an exception from onFrame propagates and stops the framer', () => {
  const bytes = nopWithData(4);
  const errors: FramerError[] = [];
  let calls = 0;
  const framer = new PduFramer({ ...plain }, () => {
    calls++;
    throw new Error('owner bug');
  }, (e) => errors.push(e));
  assert.throws(() => framer.push(Buffer.concat([bytes, bytes])), /owner bug/);
  assert.equal(calls, 1);
  assert.ok(framer.failed);
  framer.push(bytes);
  assert.equal(calls, 1);
});
