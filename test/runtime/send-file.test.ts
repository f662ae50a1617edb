// TcpWire.sendFile: Data-In whose data segment comes from a file extent
// (sendfile), in order with the frames around it, whole even when the socket
// buffer fills, copied when a data digest needs the bytes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeDataIn, serializeFrame } from '../../src/pdu/index.js';
import type { Frame } from '../../src/pdu/index.js';
import { SENDFILE_ALONE_MIN, SENDFILE_MIN, TcpWire, type SendFileFn } from '../../src/runtime/tcp-wire.js';
import { SegmentPool } from '../../src/runtime/segment-pool.js';
import { loadNativeBlockIo } from '../../src/native/blockio.js';

const io = loadNativeBlockIo().io;
const skip = (process.platform !== 'linux' || io?.sendFile === undefined) && 'needs the Linux addon';
const LUN = Buffer.alloc(8);

function dataIn(itt: number, data: Buffer): Frame {
  return encodeDataIn({
    opcode: 0x25,
    final: true,
    acknowledge: false,
    overflow: false,
    underflow: false,
    statusPresent: false,
    status: 0,
    lun: LUN,
    itt,
    ttt: 0xffffffff,
    statSn: 0,
    expCmdSn: 1,
    maxCmdSn: 2,
    dataSn: 0,
    bufferOffset: 0,
    residualCount: 0,
    data,
  } as never);
}

interface Pair {
  wire: TcpWire;
  peer: Socket;
  /** Resolves with every byte the peer received once the wire's side closed. */
  received: Promise<Buffer>;
  file: { fd: number; content: Buffer };
  close(): Promise<void>;
}

async function pair(options: { fileSize: number; sendFile?: SendFileFn | undefined; pausePeer?: boolean; pool?: SegmentPool }): Promise<Pair> {
  const dir = mkdtempSync(join(tmpdir(), 'tsgt-sendfile-'));
  const content = Buffer.alloc(options.fileSize);
  for (let i = 0; i < content.length; i++) content[i] = (i * 31 + (i >> 12)) & 0xff;
  const path = join(dir, 'lun.img');
  fs.writeFileSync(path, content);
  const fd = fs.openSync(path, 'r');
  let peer!: Socket;
  const server = createServer((s) => {
    peer = s;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(socket, 'connect');
  await accepted;
  if (options.pausePeer) peer.pause();
  const chunks: Buffer[] = [];
  peer.on('data', (c: Buffer) => chunks.push(c));
  const received = new Promise<Buffer>((resolve) => peer.on('end', () => resolve(Buffer.concat(chunks))));
  const wire = new TcpWire(socket, () => {}, () => {}, { sendFile: options.sendFile, pool: options.pool });
  return {
    wire,
    peer,
    received,
    file: { fd, content },
    async close() {
      peer.destroy();
      socket.destroy();
      fs.closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const expected = (frame: Frame, digests = { header: false, data: false }) => Buffer.concat(serializeFrame(frame, digests));

test('sendFile: header and file bytes arrive in call order between ordinary frames', { skip }, async () => {
  const p = await pair({ fileSize: 1 << 20, sendFile: io?.sendFile });
  try {
    const { content, fd } = p.file;
    assert.equal(p.wire.canSendFile(SENDFILE_MIN), true);
    assert.equal(p.wire.canSendFile(SENDFILE_MIN - 1), false, 'small segments are cheaper to copy into a shared writev');
    assert.equal(p.wire.canSendFile(SENDFILE_ALONE_MIN, true), true, 'unless nothing else is in flight');
    assert.equal(p.wire.canSendFile(SENDFILE_ALONE_MIN - 1, true), false);
    const small = dataIn(1, Buffer.from('before'));
    const tail = dataIn(3, Buffer.from('after!'));
    // Odd length and offset: the pad bytes follow the file bytes.
    const position = 4097;
    const length = 65_538;
    p.wire.send(small);
    p.wire.sendFile(dataIn(2, Buffer.alloc(0)), { fd, position, length });
    p.wire.send(tail);
    p.wire.close();
    const got = await p.received;
    const want = Buffer.concat([expected(small), expected(dataIn(2, content.subarray(position, position + length))), expected(tail)]);
    assert.equal(got.length, want.length);
    assert.ok(got.equals(want), 'the byte stream is what copying every segment would have sent');
  } finally {
    await p.close();
  }
});

test('sendFile: when the socket buffer fills the rest is queued, and later frames still come after it', { skip }, async () => {
  const pool = new SegmentPool();
  const p = await pair({ fileSize: 24 << 20, sendFile: io?.sendFile, pausePeer: true, pool });
  try {
    const { content, fd } = p.file;
    const want: Buffer[] = [];
    // 24 MiB in 1 MiB PDUs to a peer that does not read: the kernel buffer fills early.
    for (let i = 0; i < 24; i++) {
      const position = i << 20;
      p.wire.sendFile(dataIn(i, Buffer.alloc(0)), { fd, position, length: 1 << 20 });
      want.push(expected(dataIn(i, content.subarray(position, position + (1 << 20)))));
    }
    const last = dataIn(99, Buffer.from('status'));
    p.wire.send(last);
    want.push(expected(last));
    assert.ok(p.wire.socket.writableLength > 0, 'part of the data waits in Node, not in the kernel');
    p.wire.close();
    p.peer.resume();
    const got = await p.received;
    const all = Buffer.concat(want);
    assert.equal(got.length, all.length);
    assert.ok(got.equals(all));
    assert.ok(pool.freeBytes > 0, 'buffers holding the unsent rest return to the pool once written');
  } finally {
    await p.close();
  }
});

test('sendFile: with DataDigest the bytes are read and digested; past the end of the file they read as zeros', { skip }, async () => {
  const p = await pair({ fileSize: 100_000, sendFile: io?.sendFile });
  try {
    const { content, fd } = p.file;
    p.wire.configure({ maxRecvDataSegmentLength: 262144, headerDigest: true, dataDigest: true });
    assert.equal(p.wire.canSendFile(1 << 20), false, 'a data digest needs the bytes in memory');
    p.wire.sendFile(dataIn(7, Buffer.alloc(0)), { fd, position: 90_000, length: 20_000 });
    p.wire.configure({ maxRecvDataSegmentLength: 262144, headerDigest: false, dataDigest: false });
    p.wire.sendFile(dataIn(8, Buffer.alloc(0)), { fd, position: 80_000, length: 40_000 });
    p.wire.close();
    const got = await p.received;
    const beyond1 = Buffer.concat([content.subarray(90_000), Buffer.alloc(10_000)]);
    const beyond2 = Buffer.concat([content.subarray(80_000), Buffer.alloc(20_000)]);
    const want = Buffer.concat([
      expected(dataIn(7, beyond1), { header: true, data: true }),
      expected(dataIn(8, beyond2)),
    ]);
    assert.ok(got.equals(want));
  } finally {
    await p.close();
  }
});

test('sendFile: a small extent behind other output of the same turn joins the corked batch (copied), in order', { skip }, async () => {
  const calls: number[] = [];
  const spy: SendFileFn = (...args) => {
    calls.push(args[4]);
    return io!.sendFile!(...args);
  };
  const p = await pair({ fileSize: 1 << 16, sendFile: spy });
  try {
    const { content, fd } = p.file;
    const first = dataIn(1, Buffer.from('status of another command'));
    p.wire.send(first);
    p.wire.sendFile(dataIn(2, Buffer.alloc(0)), { fd, position: 0, length: 4096 });
    p.wire.close();
    const got = await p.received;
    assert.ok(got.equals(Buffer.concat([expected(first), expected(dataIn(2, content.subarray(0, 4096)))])));
    assert.deepEqual(calls, [], 'no sendfile for a page behind queued output');
  } finally {
    await p.close();
  }
});

test('sendFile: without the native call the wire offers no extents, and a stray call still sends a copy', async () => {
  const p = await pair({ fileSize: 70_000, sendFile: undefined });
  try {
    const { content, fd } = p.file;
    assert.equal(p.wire.canSendFile(1 << 20), false);
    p.wire.sendFile(dataIn(5, Buffer.alloc(0)), { fd, position: 0, length: 70_000 });
    p.wire.close();
    assert.ok((await p.received).equals(expected(dataIn(5, content))));
  } finally {
    await p.close();
  }
});
