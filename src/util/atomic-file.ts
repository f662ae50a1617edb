// Replace a small state file so that a crash leaves either the old or the new
// content, never a torn one: write a temp file (0600) next to it, fsync,
// rename over the target, fsync the directory. Used by saveconfig.json, the
// APTPL and ALUA state files and the encryption key files; readJsonFile is
// the matching reader for the state files.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** Mode of directories created on the way (default 0700). */
  readonly dirMode?: number;
  /** Temp file path (default: a unique hidden name next to the target). A stale one is removed first. */
  readonly tempPath?: string;
  /** Runs once the temp file is durable, just before it replaces the target. */
  readonly beforeRename?: () => Promise<void>;
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: options.dirMode ?? 0o700 });
  const temp = options.tempPath ?? join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  // A stale temp file may carry wider permissions: remove it rather than reuse it.
  await unlink(temp).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  try {
    const fh = await open(temp, 'wx', 0o600);
    try {
      await fh.chmod(0o600);
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await options.beforeRename?.();
    await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
  await syncDirectory(dir);
}

/** Make a rename or creation in `dir` durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (e) {
    // Some filesystems refuse fsync on directories; the rename is still done.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR') throw e;
  } finally {
    await fh.close();
  }
}

/**
 * The JSON value stored at `path` (read synchronously: state files are read
 * once at start-up), or undefined when the file does not exist or cannot be
 * read or parsed — the latter two reported through `onError`.
 */
export function readJsonFile(path: string, onError: (message: string) => void): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onError(`cannot read ${path}: ${(err as Error).message}`);
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    onError(`ignoring unreadable ${path}: ${(err as Error).message}`);
    return undefined;
  }
}
