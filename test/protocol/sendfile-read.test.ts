// READ from a fileio LUN on tmpfs: Data-In whose data segments go out by
// sendfile (FileExtent), checked end to end with the mini initiator:
// contents, PDU split by MaxRecvDataSegmentLength/MaxBurstLength, status
// collapse, residuals, and the DataDigest fallback that reads the bytes.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { MiniInitiator, read10, write10 } from './mini-initiator.js';
import { startRamTarget, TARGET } from './fixture.js';
import type { TargetServer } from '../../src/index.js';
import { loadNativeBlockIo } from '../../src/native/blockio.js';

const TMPFS = 0x01021994;
const onTmpfs = (() => {
  try {
    return statfsSync('/dev/shm').type === TMPFS;
  } catch {
    return false;
  }
})();
const skip = (!onTmpfs || loadNativeBlockIo().io?.sendFile === undefined) && 'needs a tmpfs at /dev/shm and the Linux addon';

let server: TargetServer | undefined;
let port = 0;
let dir = '';

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(onTmpfs ? '/dev/shm' : tmpdir(), 'tsgt-sendfile-'));
  ({ server, port } = await startRamTarget({
    storage: {
      plugin: 'fileio',
      name: 'shm0',
      dev: join(dir, 'lun.img'),
      size: 8 * 1024 * 1024,
      write_back: true,
      wwn: '1a2b3c4d-5e6f-4a0b-9c1d-2e3f4a5b6c7d',
    },
    parameters: { MaxRecvDataSegmentLength: '262144', MaxBurstLength: '131072' },
    tsgt: { version: 1, nop_in_interval: 0 },
  }));
});
after(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function session(keys: Record<string, string>): Promise<MiniInitiator> {
  const i = await MiniInitiator.connect(port);
  // The target's MaxBurstLength is below the default: offer it, or the target proposes it and needs another login round.
  await i.login({ targetName: TARGET, keys: { MaxBurstLength: '131072', ...keys } });
  for (let n = 0; n < 5; n++) {
    const r = await i.complete(i.command(Buffer.alloc(6)));
    if (r.status === 0) return i;
  }
  throw new Error('unit attention never cleared');
}

/** A random 4 KiB written at `lba` (512-byte blocks) as immediate data; returns it. */
async function writePage(i: MiniInitiator, lba: number): Promise<Buffer> {
  const data = randomBytes(4096);
  assert.equal((await i.complete(i.command(write10(lba, 8), { write: data, immediate: data }), data)).status, 0);
  return data;
}

const fileBytes = () => server!.sessions().reduce((n, s) => n + s.stats.txFileDataBytes, 0);

test('READ of 1 MiB from tmpfs: sent from the file, split by MaxRecvDataSegmentLength and MaxBurstLength, status in the last Data-In', { skip }, async () => {
  const i = await session({ MaxRecvDataSegmentLength: '65536', MaxBurstLength: '131072', ImmediateData: 'No', InitialR2T: 'Yes' });
  const data = randomBytes(1024 * 1024);
  const w = await i.complete(i.command(write10(2048, 2048), { write: data }), data);
  assert.equal(w.status, 0);
  const before = fileBytes();
  const r = await i.complete(i.command(read10(2048, 2048), { read: data.length }));
  assert.equal(r.status, 0);
  assert.equal(r.dataIns, 16, '1 MiB in 64 KiB Data-In PDUs');
  assert.equal(r.residual, 0);
  assert.ok(r.data.equals(data), 'the bytes read are the bytes written');
  assert.equal(fileBytes() - before, data.length, 'the Data-In went out as file extents');
  i.close();
});

test('READ from tmpfs with residuals: EDTL short of the CDB (overflow) and beyond it (underflow)', { skip }, async () => {
  const i = await session({ MaxRecvDataSegmentLength: '262144' });
  const data = randomBytes(128 * 1024);
  assert.equal((await i.complete(i.command(write10(0, 256), { write: data }), data)).status, 0);
  const over = await i.complete(i.command(read10(0, 256), { read: 96 * 1024 }));
  assert.equal(over.status, 0);
  assert.equal(over.overflow, true);
  assert.equal(over.residual, 32 * 1024);
  assert.ok(over.data.equals(data.subarray(0, 96 * 1024)));
  const under = await i.complete(i.command(read10(0, 64), { read: 64 * 1024 }));
  assert.equal(under.underflow, true);
  assert.equal(under.residual, 32 * 1024);
  assert.ok(under.data.equals(data.subarray(0, 32 * 1024)));
  i.close();
});

test('READ from tmpfs with DataDigest: the bytes are read and digested instead (the initiator checks every CRC)', { skip }, async () => {
  const i = await session({ DataDigest: 'CRC32C', HeaderDigest: 'CRC32C', MaxRecvDataSegmentLength: '65536' });
  assert.deepEqual(i.digests, { header: true, data: true });
  const data = randomBytes(256 * 1024);
  assert.equal((await i.complete(i.command(write10(4096, 512), { write: data }), data)).status, 0);
  const before = fileBytes();
  const r = await i.complete(i.command(read10(4096, 512), { read: data.length }));
  assert.equal(r.status, 0);
  assert.ok(r.data.equals(data));
  assert.equal(fileBytes(), before, 'no file extent offered when the data digest needs the bytes');
  i.close();
});

test('a 4 KiB READ alone in flight goes by sendfile; reads below a page are copied', { skip }, async () => {
  const i = await session({});
  const data = await writePage(i, 8);
  let before = fileBytes();
  const r = await i.complete(i.command(read10(8, 8), { read: 4096 }));
  assert.ok(r.data.equals(data));
  assert.equal(fileBytes() - before, 4096, 'queue depth 1: nothing would share the writev, so no copy');
  before = fileBytes();
  const small = await i.complete(i.command(read10(8, 4), { read: 2048 }));
  assert.ok(small.data.equals(data.subarray(0, 2048)));
  assert.equal(fileBytes(), before, 'below one page the copy is cheaper');
  i.close();
});

test('a 4 KiB READ sent before the initiator saw an earlier status (ExpStatSN behind StatSN) is copied: it joins a pipelined stream', { skip }, async () => {
  const i = await session({});
  const data = await writePage(i, 16);
  const before = fileBytes();
  // As if sent while that write's status was still on its way: one response unseen.
  i.expStatSn = (i.expStatSn - 1) >>> 0;
  const r = await i.complete(i.command(read10(16, 8), { read: 4096 }));
  assert.ok(r.data.equals(data));
  assert.equal(fileBytes(), before, 'the initiator had two commands outstanding: batched copy, not sendfile');
  // Once it has caught up, the next lone READ goes by sendfile again.
  const again = await i.complete(i.command(read10(16, 8), { read: 4096 }));
  assert.ok(again.data.equals(data));
  assert.equal(fileBytes() - before, 4096);
  i.close();
});
