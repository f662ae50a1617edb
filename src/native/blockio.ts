// Loader for tsgt_blockio, the N-API addon (native/blockio.c, built by
// node-gyp from binding.gyp at `npm ci`) that provides the provisioning calls
// Node's fs lacks: fallocate PUNCH_HOLE/ZERO_RANGE, lseek SEEK_DATA/SEEK_HOLE
// and the block-device ioctls BLKDISCARD/BLKZEROOUT/BLKGETSIZE64/BLKPBSZGET.
//
// No npm package covers these: fs-ext (the one maintained candidate) offers
// flock/fcntl/statvfs/seek without SEEK_DATA/SEEK_HOLE and has neither
// fallocate nor ioctls, and is built on nan. Every call runs on libuv's thread
// pool and returns a promise. When the addon was not built (no compiler, other
// OS) loading yields `undefined` plus the reason, and the backstores fall back
// to writing zeros and reporting every block mapped.

import { createRequire } from 'node:module';
import { constants, type FileHandle, open } from 'node:fs/promises';

export interface NativeBlockIo {
  /** fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE): deallocate; the range reads back as zeros. */
  punchHole(fd: number, offset: number, length: number): Promise<void>;
  /** fallocate(FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE): zeros without writing them. */
  zeroRange(fd: number, offset: number, length: number): Promise<void>;
  /** lseek(SEEK_DATA): first data byte at or after `offset`, or -1 when there is none (ENXIO). */
  seekData(fd: number, offset: number): Promise<number>;
  /** lseek(SEEK_HOLE): first hole byte at or after `offset` (EOF counts as a hole), or -1 past EOF. */
  seekHole(fd: number, offset: number): Promise<number>;
  /** ioctl(BLKDISCARD) on a block device. */
  discard(fd: number, offset: number, length: number): Promise<void>;
  /** ioctl(BLKZEROOUT) on a block device. */
  zeroOut(fd: number, offset: number, length: number): Promise<void>;
  /** ioctl(BLKGETSIZE64): size of a block device in bytes. */
  blockDeviceSize(fd: number): Promise<number>;
  /** ioctl(BLKPBSZGET): physical sector size of a block device in bytes. Absent in an addon built before it existed. */
  physicalBlockSize?(fd: number): Promise<number>;
  /**
   * SYNCHRONOUS preadv2(RWF_NOWAIT) into buffer[offset, offset+length): bytes
   * read (0 at end of file), or a negated errno: -EAGAIN when the data is not
   * all in the page cache, -EOPNOTSUPP where the file system lacks RWF_NOWAIT.
   * Absent in an addon built before it existed.
   */
  preadNowait?(fd: number, buffer: Buffer, offset: number, length: number, position: number): number;
  /** SYNCHRONOUS pwritev2(RWF_NOWAIT): bytes written (possibly fewer than given), or a negated errno as preadNowait. */
  pwritevNowait?(fd: number, buffers: readonly Buffer[], position: number): number;
  /**
   * SYNCHRONOUS send of `header`, `length` bytes of `fd` from `position`
   * (sendfile: page-cache pages go to TCP without a user-space copy) and `pad`
   * (0..3) zero bytes to the non-blocking socket `sock`. Returns the bytes sent,
   * fewer than all when the socket buffer filled (EAGAIN) or the file ended;
   * a negated errno when nothing was sent. Absent in an addon built before it existed.
   */
  sendFile?(sock: number, header: Buffer, fd: number, position: number, length: number, pad: number): number;
}

/** errno values the synchronous calls return negated. */
export const EAGAIN = 11;
export const EOPNOTSUPP = 95;

export interface NativeLoad {
  readonly io: NativeBlockIo | undefined;
  /** Why the addon is unavailable (for a one-time warning). */
  readonly error?: string;
}

/** Relative to dist/src/native/ (compiled) — the repository root holds build/. */
const ADDON_PATHS = ['../../../build/Release/tsgt_blockio.node', '../../../build/Debug/tsgt_blockio.node'];

interface RawAddon {
  punchHole(fd: number, offset: number, length: number): Promise<number>;
  zeroRange(fd: number, offset: number, length: number): Promise<number>;
  seekData(fd: number, offset: number): Promise<number>;
  seekHole(fd: number, offset: number): Promise<number>;
  discard(fd: number, offset: number, length: number): Promise<number>;
  zeroOut(fd: number, offset: number, length: number): Promise<number>;
  blockDeviceSize(fd: number): Promise<number>;
  physicalBlockSize?(fd: number): Promise<number>;
  preadNowait?(fd: number, buffer: Buffer, offset: number, length: number, position: number): number;
  pwritevNowait?(fd: number, buffers: readonly Buffer[], position: number): number;
  sendFile?(sock: number, header: Buffer, fd: number, position: number, length: number, pad: number): number;
}

function wrap(raw: RawAddon): NativeBlockIo {
  const done = (): void => undefined;
  return Object.freeze<NativeBlockIo>({
    punchHole: (fd, offset, length) => raw.punchHole(fd, offset, length).then(done),
    zeroRange: (fd, offset, length) => raw.zeroRange(fd, offset, length).then(done),
    seekData: (fd, offset) => raw.seekData(fd, offset),
    seekHole: (fd, offset) => raw.seekHole(fd, offset),
    discard: (fd, offset, length) => raw.discard(fd, offset, length).then(done),
    zeroOut: (fd, offset, length) => raw.zeroOut(fd, offset, length).then(done),
    blockDeviceSize: (fd) => raw.blockDeviceSize(fd),
    ...(typeof raw.physicalBlockSize === 'function' ? { physicalBlockSize: (fd: number) => raw.physicalBlockSize!(fd) } : {}),
    // Passed through unwrapped: they are synchronous and on the per-command hot path.
    ...(typeof raw.preadNowait === 'function' ? { preadNowait: raw.preadNowait } : {}),
    ...(typeof raw.pwritevNowait === 'function' ? { pwritevNowait: raw.pwritevNowait } : {}),
    ...(typeof raw.sendFile === 'function' ? { sendFile: raw.sendFile } : {}),
  });
}

/**
 * Load the addon. Node's require cache makes repeated calls cheap and returns
 * the same module, so callers need not keep the result.
 */
export function loadNativeBlockIo(): NativeLoad {
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const path of ADDON_PATHS) {
    try {
      const raw = require(path) as Partial<RawAddon>;
      if (typeof raw.punchHole !== 'function' || typeof raw.seekData !== 'function') {
        errors.push(`${path}: not the tsgt_blockio addon`);
        continue;
      }
      return { io: wrap(raw as RawAddon) };
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      errors.push(code === 'MODULE_NOT_FOUND' ? 'not built (run `npm rebuild` with a C compiler available)' : String((e as Error).message ?? e));
    }
  }
  return { io: undefined, error: `native block I/O addon unavailable: ${[...new Set(errors)].join('; ')}` };
}

/** errno codes meaning "this file system or device does not offer the operation". */
export function isUnsupported(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'EOPNOTSUPP' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'ENOTTY' || code === 'EINVAL';
}

/**
 * Physical sector size of the block device at `path` (ioctl BLKPBSZGET), or
 * undefined when it cannot be told: addon missing or built without the call,
 * not a block device, no permission. Opens the device read-only for the
 * question alone.
 */
export async function blockDevicePhysicalBlockSize(path: string, io: NativeBlockIo | undefined = loadNativeBlockIo().io): Promise<number | undefined> {
  if (io?.physicalBlockSize === undefined) return undefined;
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const size = await io.physicalBlockSize(handle.fd);
    return Number.isSafeInteger(size) && size > 0 ? size : undefined;
  } catch {
    return undefined;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
