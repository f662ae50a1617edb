// fileio backstore (LIO target_core_file): a regular file as a disk.
//
// A missing file is created sparse at the configured size (as rtslib's
// FileIOStorageObject does), a shorter one is extended sparse, and with no
// size the file's own size is used. The device is `size` bytes even when the
// file is longer; reads beyond the file's end return zeros.
//
// With the native addon (src/native/blockio.ts) the device can deallocate:
// unmap punches holes (fallocate PUNCH_HOLE|KEEP_SIZE, probed at open past
// the end of the file, where it cannot touch data), writeZeroes uses
// ZERO_RANGE and lbaStatus walks SEEK_DATA/SEEK_HOLE. Whether a LUN offers
// this to initiators is the storage object's emulate_tpu/emulate_tpws.

import * as fs from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { dirname } from 'node:path';
import type { BlockDevice } from './types.js';
import { BackstoreOpenError, errnoCode } from './errors.js';
import { type CachedIo, type FdOps, closeFd, fdBlockDevice, openFd } from './fdio.js';
import type { FdProvisioningOptions } from './fd-provisioning.js';
import { isUnsupported, loadNativeBlockIo, type NativeBlockIo } from '../native/blockio.js';

const fstat = promisify(fs.fstat);
const ftruncate = promisify(fs.ftruncate);

export interface FileioOptions {
  /** Path of the backing file. */
  dev: string;
  /** Device size in bytes; required when the file does not exist. Rounded down to whole blocks. */
  size?: number;
  /** rtslib write_back: volatile write cache. When false, every write is durable on completion. */
  write_back: boolean;
  blockSize: number;
  readOnly?: boolean;
  /** Storage object name, for messages. */
  name?: string;
  /** Test hook: the fs calls the device makes after open. */
  ops?: FdOps;
  /** Provisioning calls: default the native addon when it loads; null: none (the portable fallback). */
  native?: NativeBlockIo | null;
}

/** Whether hole punching works on this file's file system, and its block size (the useful unmap unit). */
async function probeFileProvisioning(io: NativeBlockIo, fd: number, blockSize: number, readOnly: boolean): Promise<FdProvisioningOptions> {
  const st = await fstat(fd);
  const fsBlock = st.blksize > 0 ? st.blksize : 4096;
  const granularity = fsBlock > blockSize && fsBlock % blockSize === 0 ? fsBlock / blockSize : 1;
  let unmap = false;
  if (!readOnly) {
    // Past the end of the file with KEEP_SIZE: a no-op where supported, EOPNOTSUPP where not.
    const beyond = Math.ceil((st.size + 1) / fsBlock) * fsBlock;
    try {
      await io.punchHole(fd, beyond, fsBlock);
      unmap = true;
    } catch (e) {
      if (!isUnsupported(e)) throw e;
    }
  }
  return { io, kind: 'file', unmap, unmapZeroes: true, granularity };
}

/** statfs f_type of the file systems whose pages are never read from a device: tmpfs, ramfs. */
const MEMORY_FS = new Set([0x01021994, 0x858458f6]);

const errnoOf = (e: unknown): number => {
  const n = (e as { errno?: unknown }).errno;
  return typeof n === 'number' && n < 0 ? n : -5;
};

/** Plain synchronous pread/pwritev: only for memory file systems, where they are memory copies. */
const MEMORY_IO: CachedIo = Object.freeze<CachedIo>({
  read(fd, buffer, offset, length, position) {
    try {
      return fs.readSync(fd, buffer, offset, length, position);
    } catch (e) {
      return errnoOf(e);
    }
  },
  writev(fd, buffers, position) {
    try {
      return fs.writevSync(fd, buffers as Buffer[], position);
    } catch (e) {
      return errnoOf(e);
    }
  },
});

/**
 * Hot I/O without libuv's thread pool. On tmpfs/ramfs every page is in memory,
 * so a synchronous pread/pwritev is a memcpy (RWF_NOWAIT is EOPNOTSUPP there
 * on Linux 6.x). Elsewhere preadv2/pwritev2(RWF_NOWAIT) from the addon: the
 * kernel copies what the page cache holds and returns EAGAIN instead of
 * waiting for the disk; fdio sends the rest through the thread pool.
 */
async function cachedIo(path: string, io: NativeBlockIo | undefined): Promise<{ cached?: CachedIo; inMemory: boolean }> {
  let type = -1;
  try {
    type = Number((await fs.promises.statfs(path)).type);
  } catch {
    // No statfs: treat as a disk file system.
  }
  if (MEMORY_FS.has(type)) return { cached: MEMORY_IO, inMemory: true };
  if (io?.preadNowait === undefined) return { inMemory: false };
  return { cached: { read: io.preadNowait, writev: io.pwritevNowait }, inMemory: false };
}

/** Rejects with BackstoreOpenError when the file cannot be used. */
export async function openFileio(cfg: FileioOptions): Promise<BlockDevice> {
  const what = cfg.name ? `fileio ${cfg.name} (${cfg.dev})` : `fileio ${cfg.dev}`;
  const fail = (message: string, cause?: unknown): never => {
    throw new BackstoreOpenError(`${what}: ${message}`, { storageObject: cfg.name, cause });
  };
  if (cfg.size !== undefined && (!Number.isSafeInteger(cfg.size) || cfg.size <= 0)) fail(`invalid size ${cfg.size}`);
  if (cfg.blockSize <= 0 || !Number.isSafeInteger(cfg.blockSize)) fail(`invalid block size ${cfg.blockSize}`);
  const readOnly = cfg.readOnly === true;

  let existing: fs.Stats | undefined;
  try {
    existing = await stat(cfg.dev);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') fail(`cannot stat: ${errnoCode(e) ?? String(e)}`, e);
  }
  if (existing?.isDirectory()) fail('is a directory; fileio needs a regular file');
  if (existing && !existing.isFile()) {
    fail(existing.isBlockDevice() ? 'is a block device; use the block backstore' : 'is not a regular file');
  }
  if (!existing) {
    if (cfg.size === undefined) fail('does not exist and no size was given to create it');
    if (readOnly) fail('does not exist and the storage object is read-only');
  }

  const C = fs.constants;
  const fds: number[] = [];
  try {
    let fd: number;
    if (!existing) {
      await mkdir(dirname(cfg.dev), { recursive: true, mode: 0o700 });
      // Exclusive create: if another process created it meanwhile, open that file instead.
      fd = await openFd(cfg.dev, C.O_RDWR | C.O_CREAT | C.O_EXCL, 0o600).catch((e: unknown) =>
        errnoCode(e) === 'EEXIST' ? openFd(cfg.dev, C.O_RDWR) : Promise.reject(e),
      );
    } else {
      fd = await openFd(cfg.dev, readOnly ? C.O_RDONLY : C.O_RDWR);
    }
    fds.push(fd);
    const fileSize = (await fstat(fd)).size;
    const size = cfg.size ?? fileSize;
    const blockCount = Math.floor(size / cfg.blockSize);
    if (blockCount === 0) fail(`is ${size} bytes, smaller than one ${cfg.blockSize}-byte block`);
    // Extending with ftruncate leaves a hole: no blocks are allocated until written.
    if (!readOnly && fileSize < blockCount * cfg.blockSize) await ftruncate(fd, blockCount * cfg.blockSize);
    let syncFd: number | undefined;
    if (!readOnly) {
      syncFd = await openFd(cfg.dev, C.O_RDWR | C.O_DSYNC);
      fds.push(syncFd);
    }
    const io = cfg.native === undefined ? loadNativeBlockIo().io : cfg.native ?? undefined;
    const provisioning = io ? await probeFileProvisioning(io, fd, cfg.blockSize, readOnly) : undefined;
    // Injected fs calls (tests) must see every transfer, so no synchronous shortcut then.
    const { cached, inMemory } = cfg.ops === undefined ? await cachedIo(cfg.dev, io) : { cached: undefined, inMemory: false };
    return fdBlockDevice({
      fd,
      syncFd,
      blockSize: cfg.blockSize,
      blockCount,
      readOnly,
      writeCache: !readOnly && cfg.write_back,
      label: what,
      ops: cfg.ops,
      provisioning,
      cached,
      inMemory,
    });
  } catch (e) {
    await Promise.all(fds.map((fd) => closeFd(fd).catch(() => undefined)));
    if (e instanceof BackstoreOpenError) throw e;
    return fail(`cannot open: ${errnoCode(e) ?? String(e)}`, e);
  }
}
