// A BlockDevice over a file descriptor: shared by fileio (regular file) and
// block (block device). Uses the callback fs API: on Node 20 a 4 KiB
// fs.read/fs.writev loop measured ~17/18 µs per op against ~42/27 µs for
// FileHandle.read/writev (FileHandle adds a promise and handle bookkeeping).
//
// Durability: writes that must be durable on completion (write_back false,
// or FUA) go through a second descriptor opened with O_DSYNC. Measured
// against write + fdatasync on ext4 the cost was equal (~265 µs per 4 KiB
// write), but O_DSYNC is one thread-pool round trip instead of two and
// syncs only the data just written rather than the whole file.

import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { BackstoreIoError, type BlockDevice, type WriteOptions } from './types.js';
import { fdProvisioning, type FdProvisioningOptions } from './fd-provisioning.js';

// Raw descriptors (not FileHandle): the device uses the callback API and owns closing them.
export const openFd = promisify(fs.open);
export const closeFd = promisify(fs.close);

type Cb<T> = (err: NodeJS.ErrnoException | null, value: T) => void;

/** The fs calls the device makes; replaceable so tests can inject faults and short transfers. */
export interface FdOps {
  read(fd: number, buffer: Buffer, offset: number, length: number, position: number, cb: Cb<number>): void;
  writev(fd: number, buffers: Buffer[], position: number, cb: Cb<number>): void;
  fdatasync(fd: number, cb: (err: NodeJS.ErrnoException | null) => void): void;
  close(fd: number, cb: (err: NodeJS.ErrnoException | null) => void): void;
}

export const NODE_FD_OPS: FdOps = Object.freeze<FdOps>({
  read: (fd, buffer, offset, length, position, cb) => fs.read(fd, buffer, offset, length, position, cb),
  writev: (fd, buffers, position, cb) => fs.writev(fd, buffers, position, cb),
  fdatasync: (fd, cb) => fs.fdatasync(fd, cb),
  close: (fd, cb) => fs.close(fd, cb),
});

export interface FdDeviceOptions {
  fd: number;
  /** O_DSYNC descriptor of the same file, for durable writes; required unless readOnly. */
  syncFd?: number;
  blockSize: number;
  blockCount: number;
  readOnly: boolean;
  /** Volatile write cache: when false every write goes through syncFd. */
  writeCache: boolean;
  /** Names the device in error messages, e.g. "fileio disk0 (/var/lib/tsgt/disk0.img)". */
  label: string;
  ops?: FdOps;
  /**
   * Deallocation, cheap zeroing and allocation reporting through the native
   * addon (fd-provisioning.ts). Without it writeZeroes writes zeros and the
   * device has no unmap or lbaStatus.
   */
  provisioning?: FdProvisioningOptions;
}

/** Largest zero-filled run written per writev by writeZeroes. */
const ZERO_CHUNK = 1 << 20;
/** Buffers per writev (Linux IOV_MAX is 1024; libuv splits longer lists anyway). */
const MAX_IOV = 1024;

export function checkRange(dev: { blockCount: number }, lba: number, blocks: number): void {
  if (!Number.isSafeInteger(lba) || !Number.isSafeInteger(blocks) || lba < 0 || blocks < 0 || lba + blocks > dev.blockCount) {
    throw new RangeError(`LBA range ${lba}+${blocks} is outside the device (${dev.blockCount} blocks)`);
  }
}

export function totalLength(data: readonly Buffer[]): number {
  let n = 0;
  for (const b of data) n += b.length;
  return n;
}

export function fdBlockDevice(o: FdDeviceOptions): BlockDevice {
  const ops = o.ops ?? NODE_FD_OPS;
  const { blockSize, blockCount, readOnly, label } = o;
  let inflight = 0;
  let closed = false;
  let closing: Promise<void> | undefined;
  let drained: (() => void) | undefined;
  let zeros: Buffer | undefined;

  const ioError = (dir: BackstoreIoError['direction'], lba: number, what: string, err?: NodeJS.ErrnoException) =>
    new BackstoreIoError(dir, lba, `${label}: ${what}${err ? `: ${err.code ?? err.message}` : ''}`, err ? { cause: err } : undefined);

  // Every operation holds the descriptors open until it settles: closing an fd
  // under an in-flight call could let the number be reused by another file.
  async function track<T>(dir: BackstoreIoError['direction'], lba: number, run: () => Promise<T>): Promise<T> {
    if (closed) throw ioError(dir, lba, 'device is closed');
    inflight++;
    try {
      return await run();
    } finally {
      if (--inflight === 0 && drained) drained();
    }
  }

  function readOnce(pos: number, into: Buffer, off: number, len: number): Promise<number> {
    return new Promise((resolve, reject) => ops.read(o.fd, into, off, len, pos, (e, n) => (e ? reject(e) : resolve(n))));
  }

  function writevOnce(fd: number, bufs: Buffer[], pos: number): Promise<number> {
    return new Promise((resolve, reject) => ops.writev(fd, bufs, pos, (e, n) => (e ? reject(e) : resolve(n))));
  }

  async function readAt(lba: number, into: Buffer, length: number): Promise<void> {
    let done = 0;
    const base = lba * blockSize;
    while (done < length) {
      let n: number;
      try {
        n = await readOnce(base + done, into, done, length - done);
      } catch (e) {
        throw ioError('read', lba, `read of ${length} bytes at byte ${base + done} failed`, e as NodeJS.ErrnoException);
      }
      if (n === 0) {
        // Past end of file (a file shorter than the device): the unwritten tail reads as zeros.
        into.fill(0, done, length);
        return;
      }
      done += n;
    }
  }

  async function writevAt(fd: number, lba: number, data: readonly Buffer[]): Promise<void> {
    let bufs = data.filter((b) => b.length > 0);
    let pos = lba * blockSize;
    while (bufs.length > 0) {
      const batch = bufs.length > MAX_IOV ? bufs.slice(0, MAX_IOV) : bufs;
      let n: number;
      try {
        n = await writevOnce(fd, batch, pos);
      } catch (e) {
        throw ioError('write', lba, `write at byte ${pos} failed`, e as NodeJS.ErrnoException);
      }
      if (n <= 0) throw ioError('write', lba, `write at byte ${pos} made no progress`);
      pos += n;
      // Drop fully written buffers; keep the unwritten tail of a partly written one.
      let i = 0;
      while (i < bufs.length && n >= bufs[i].length) n -= bufs[i++].length;
      bufs = bufs.slice(i);
      if (n > 0) bufs[0] = bufs[0].subarray(n);
    }
  }

  function syncData(lba: number): Promise<void> {
    return new Promise((resolve, reject) =>
      ops.fdatasync(o.fd, (e) => (e ? reject(ioError('flush', lba, 'fdatasync failed', e)) : resolve())),
    );
  }

  function writeFd(options?: WriteOptions): number {
    const durable = !o.writeCache || options?.fua === true;
    return durable && o.syncFd !== undefined ? o.syncFd : o.fd;
  }

  function refuseReadOnly(lba: number): void {
    if (readOnly) throw ioError('write', lba, 'device is read-only');
  }

  /** Write zero buffers over the range; the caller tracks the operation. */
  async function writeZeroBuffers(lba: number, blocks: number): Promise<void> {
    zeros ??= Buffer.alloc(Math.min(ZERO_CHUNK, Math.max(blockSize, blocks * blockSize)));
    const z = zeros;
    let remaining = blocks * blockSize;
    let at = lba;
    while (remaining > 0) {
      const iov: Buffer[] = [];
      let len = 0;
      while (remaining - len > 0 && iov.length < MAX_IOV) {
        const piece = Math.min(z.length, remaining - len);
        iov.push(piece === z.length ? z : z.subarray(0, piece));
        len += piece;
      }
      await writevAt(writeFd(), at, iov);
      remaining -= len;
      at += len / blockSize;
    }
  }

  async function writeZeroesImpl(lba: number, blocks: number): Promise<void> {
    checkRange(dev, lba, blocks);
    refuseReadOnly(lba);
    await track('write', lba, () => writeZeroBuffers(lba, blocks));
  }

  // Thin provisioning members (unmap, writeZeroes via fallocate/ioctl, lbaStatus), when the opener enabled them.
  const thin = o.provisioning
    ? fdProvisioning(o.provisioning, {
        fd: o.fd,
        blockSize,
        blockCount,
        readOnly,
        writeCache: o.writeCache,
        label,
        checkRange: (lba, blocks) => checkRange(dev, lba, blocks),
        track,
        sync: syncData,
        writeZeroBuffers,
      })
    : undefined;

  const dev: BlockDevice = {
    blockSize,
    blockCount,
    readOnly,
    writeCache: o.writeCache,

    async read(lba, blocks, into) {
      checkRange(dev, lba, blocks);
      const length = blocks * blockSize;
      if (into && into.length < length) throw new RangeError(`read buffer holds ${into.length} bytes, ${length} needed`);
      const out = into ?? Buffer.allocUnsafe(length);
      await track('read', lba, () => readAt(lba, out, length));
      return out;
    },

    async write(lba, data, options) {
      const length = totalLength(data);
      if (length % blockSize !== 0) throw new RangeError(`write of ${length} bytes is not a multiple of the block size ${blockSize}`);
      checkRange(dev, lba, length / blockSize);
      refuseReadOnly(lba);
      await track('write', lba, () => writevAt(writeFd(options), lba, data));
    },

    async flush() {
      if (readOnly) {
        if (closed) throw ioError('flush', 0, 'device is closed');
        return;
      }
      await track('flush', 0, () => syncData(0));
    },

    // Without the native addon there is no unmap: zero-filling is not deallocation.
    writeZeroes: (lba, blocks) => writeZeroesImpl(lba, blocks),
    ...thin,

    close() {
      closing ??= (async () => {
        closed = true;
        if (inflight > 0) await new Promise<void>((resolve) => (drained = resolve));
        const fds = o.syncFd === undefined ? [o.fd] : [o.fd, o.syncFd];
        await Promise.all(fds.map((fd) => new Promise<void>((resolve) => ops.close(fd, () => resolve()))));
      })();
      return closing;
    },
  };
  return dev;
}
