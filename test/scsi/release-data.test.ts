import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ABORTED } from '../../src/scsi/api.js';
import { cdb10, fixture, request } from './harness.js';

// ScsiCommandRequest.releaseData lets the transport reuse Data-Out buffers:
// it must come only after the backstore write finished, and only from
// commands that keep no reference to the data.

test('WRITE(10) releases its Data-Out buffers only after the backstore write completed', async () => {
  const f = fixture();
  const nexus = f.open('n1');
  let open!: () => void;
  f.dev.gate = new Promise<void>((r) => (open = r));
  const data = Buffer.alloc(4 * 512, 0xab);
  const released: (readonly Buffer[])[] = [];
  const req = { ...request(cdb10(0x2a, 8, 4), { data }), releaseData: (b: readonly Buffer[]) => released.push(b) };
  const handle = nexus.execute(req);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(released.length, 0, 'not released while the write is in flight');
  open();
  const out = await handle.outcome;
  assert.notEqual(out, ABORTED);
  assert.equal(released.length, 1);
  assert.deepEqual(released[0].map((b) => b.length), [data.length]);
  assert.equal(released[0][0].buffer, data.buffer, 'the buffers the transport handed in');
  assert.deepEqual(f.dev.bytes.subarray(8 * 512, 12 * 512), data);
});

test('commands that may keep their parameter data (MODE SELECT, PERSISTENT RESERVE OUT) never release it', async () => {
  const f = fixture();
  const nexus = f.open('n1');
  const released: unknown[] = [];
  // PERSISTENT RESERVE OUT REGISTER with a 24-byte parameter list.
  const params = Buffer.alloc(24);
  params.writeBigUInt64BE(0x1234n, 8);
  const pr = { ...request([0x5f, 0x00, 0, 0, 0, 0, 0, 0, 24, 0], { data: params }), releaseData: (b: readonly Buffer[]) => released.push(b) };
  const r = await nexus.execute(pr).outcome;
  assert.notEqual(r, ABORTED);
  // MODE SELECT(10) of just a header.
  const ms = { ...request([0x55, 0x10, 0, 0, 0, 0, 0, 0, 8, 0], { data: Buffer.alloc(8) }), releaseData: (b: readonly Buffer[]) => released.push(b) };
  await nexus.execute(ms).outcome;
  assert.deepEqual(released, []);
});

test('READ(10) reads into the buffer the transport offers (allocateDataIn) and returns exactly that buffer', async () => {
  const f = fixture();
  f.dev.bytes.fill(0x5a, 16 * 512, 20 * 512);
  const nexus = f.open('n1');
  const offered: Buffer[] = [];
  const req = {
    ...request(cdb10(0x28, 16, 4), { edtl: 4 * 512 }),
    allocateDataIn: (n: number) => {
      const b = Buffer.alloc(n, 0xee);
      offered.push(b);
      return b;
    },
  };
  const out = await nexus.execute(req).outcome;
  assert.notEqual(out, ABORTED);
  if (out === ABORTED) return;
  assert.equal(offered.length, 1);
  assert.equal(offered[0].length, 4 * 512);
  assert.equal(out.data, offered[0]);
  assert.deepEqual(out.data, Buffer.alloc(4 * 512, 0x5a));
});

test('READ(10) without an offered buffer (allocateDataIn → undefined) lets the device allocate', async () => {
  const f = fixture();
  const nexus = f.open('n1');
  const req = { ...request(cdb10(0x28, 0, 2), { edtl: 1024 }), allocateDataIn: () => undefined };
  const out = await nexus.execute(req).outcome;
  assert.notEqual(out, ABORTED);
  if (out !== ABORTED) assert.equal(out.data?.length, 1024);
});
