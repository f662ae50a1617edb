import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, Socket, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { encodeDataOut, serializeFrame } from '../../src/pdu/index.js';
import type { ReceivedFrame } from '../../src/pdu/index.js';
import { TcpWire } from '../../src/runtime/tcp-wire.js';
import { SegmentPool } from '../../src/runtime/segment-pool.js';
import { adoptSocket, SocketReader } from '../../src/runtime/socket-reader.js';

const LUN = Buffer.alloc(8);

function dataOutBytes(length: number, seed: number): { bytes: Buffer; data: Buffer } {
  const data = Buffer.alloc(length);
  for (let i = 0; i < length; i++) data[i] = (i * 7 + seed) & 0xff;
  const frame = encodeDataOut({ final: true, lun: LUN, itt: seed, ttt: 1, expStatSn: 0, dataSn: 0, bufferOffset: 0, data } as never);
  return { bytes: Buffer.concat(serializeFrame(frame, { header: false, data: false })), data };
}

test('TcpWire.accept: PDUs written in odd-sized pieces arrive intact through the adopted socket; large segments come from the pool', async () => {
  const pool = new SegmentPool();
  const frames: ReceivedFrame[] = [];
  let wire: TcpWire | undefined;
  let acceptedSocket: Socket | undefined;
  const server = createServer({ pauseOnConnect: true }, (accepted) => {
    acceptedSocket = accepted;
    wire = TcpWire.accept(accepted, (f) => frames.push(f), (r) => assert.fail(r), { pool });
    wire.configure({ maxRecvDataSegmentLength: 1 << 20, headerDigest: false, dataDigest: false });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const sizes = [0, 100, 70_000, 256 * 1024, 4096, 1 << 20, 17, 300_000];
  const pdus = sizes.map((n, i) => dataOutBytes(n, i));
  const stream = Buffer.concat(pdus.map((p) => p.bytes));
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  // Odd write sizes so headers and segments straddle reads.
  for (let pos = 0, k = 0; pos < stream.length; k++) {
    const n = [1, 47, 5000, 65_537, 131_072][k % 5];
    client.write(stream.subarray(pos, pos + n));
    pos += n;
  }
  const deadline = Date.now() + 10_000;
  while (frames.length < sizes.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(frames.length, sizes.length);
  frames.forEach((f, i) => assert.deepEqual(f.data, pdus[i].data, `PDU ${i} (${sizes[i]} bytes)`));
  assert.ok(wire);
  assert.notEqual(wire.socket, acceptedSocket, 'the socket was adopted (onread path)');
  // Segments of a page and more were pooled (copied out of the reader's reused buffer or read direct): releasing them fills the pool.
  wire.release(frames.map((f) => f.data));
  assert.equal(pool.freeBytes, 128 * 1024 + 256 * 1024 + 4096 + (1 << 20) + 512 * 1024);
  client.end();
  await once(wire.socket, 'close');
  // The accepted socket is let go too, so the server can close.
  await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
});

test('adoptSocket: leaves a socket without a handle alone (falls back to data events)', () => {
  const s = new Socket();
  assert.equal(adoptSocket(s, new SocketReader()), undefined);
  s.destroy();
});

test('SegmentPool: reuses released buffers by size class, ignores foreign and double releases, caps what it keeps', () => {
  const pool = new SegmentPool(300 * 1024);
  const a = pool.allocate(200 * 1024);
  assert.equal(a.length, 200 * 1024);
  assert.equal(a.buffer.byteLength, 256 * 1024);
  const small = pool.allocate(1000);
  pool.release([small, Buffer.alloc(256 * 1024)]);
  assert.equal(pool.freeBytes, 0, 'small and foreign buffers are not pooled');
  pool.release([a.subarray(0, 10)]);
  assert.equal(pool.freeBytes, 256 * 1024);
  pool.release([a]);
  assert.equal(pool.freeBytes, 256 * 1024, 'a double release is ignored');
  const b = pool.allocate(256 * 1024);
  assert.equal(b.buffer, a.buffer, 'the released buffer is reused');
  assert.equal(pool.freeBytes, 0);
  const c = pool.allocate(256 * 1024);
  const d = pool.allocate(256 * 1024);
  pool.release([b, c, d]);
  assert.equal(pool.freeBytes, 256 * 1024, 'never more than maxFreeBytes kept');
});

test('TcpWire.send: onSent fires once the frame was handed to the OS, never for a destroyed socket', async () => {
  const server = createServer((s) => s.resume());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  const wire = new TcpWire(client, () => {}, () => {});
  const frame = encodeDataOut({ final: true, lun: LUN, itt: 1, ttt: 1, expStatSn: 0, dataSn: 0, bufferOffset: 0, data: Buffer.alloc(300_000) } as never);
  const sent = await new Promise<boolean>((resolve) => {
    wire.send(frame, () => resolve(true));
    setTimeout(() => resolve(false), 5000);
  });
  assert.equal(sent, true);
  let late = false;
  client.destroy();
  wire.send(frame, () => (late = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(late, false);
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('SegmentPool.allocateDataIn: pages and up are pooled and reused once released, smaller asks get undefined', () => {
  const pool = new SegmentPool();
  assert.equal(pool.allocateDataIn(4095), undefined);
  const a = pool.allocateDataIn(4096);
  assert.ok(a);
  assert.equal(a.length, 4096);
  pool.release([a]);
  assert.equal(pool.freeBytes, 4096);
  const b = pool.allocateDataIn(4096);
  assert.equal(b?.buffer, a.buffer, 'a 4 KiB Data-In buffer is reused, not allocated again');
  const c = pool.allocateDataIn(6000);
  assert.equal(c?.buffer.byteLength, 8192);
});
