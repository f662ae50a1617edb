// Host-side look at the LUN's backing file after the guest is gone: what the
// target stored must be the ext4 filesystem the guest wrote, read with
// e2fsprogs' own tools (debugfs, e2fsck) and not through any initiator.

import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describeRun, run, type RunResult } from '../integration/harness.js';
import { requireHostTool } from './guest.js';

/** The ext2/3/4 superblock starts at byte 1024; s_magic (0xEF53, little-endian) is at offset 56 in it. */
export const EXT4_MAGIC_OFFSET = 1080;
export const EXT4_MAGIC = 0xef53;

export async function superblockMagic(image: string): Promise<number> {
  const fh = await open(image, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, EXT4_MAGIC_OFFSET);
    return bytesRead === 2 ? buf.readUInt16LE(0) : -1;
  } finally {
    await fh.close();
  }
}

/** `e2fsck -fn` on the image: 0 means clean. */
export function hostFsck(image: string): Promise<RunResult> {
  const e2fsck = requireHostTool('e2fsck', 'e2fsprogs');
  return run(e2fsck, ['-fn', image], { timeoutMs: 60_000 });
}

async function debugfs(image: string, request: string): Promise<string> {
  const tool = requireHostTool('debugfs', 'e2fsprogs');
  const args = ['-R', request, image];
  const r = await run(tool, args, { timeoutMs: 60_000 });
  assert.equal(r.code, 0, describeRun(tool, args, r));
  return r.stdout;
}

/** A file's contents, read by debugfs straight from the image. */
export function readImageFile(image: string, path: string): Promise<string> {
  return debugfs(image, `cat ${path}`);
}

/** Names in a directory of the image (without . and ..). */
export async function listImageDir(image: string, path: string): Promise<string[]> {
  // `ls -p` prints one /inode/mode/uid/gid/name/size/ record a line.
  const out = await debugfs(image, `ls -p ${path}`);
  return out
    .split('\n')
    .map((l) => l.trim().split('/'))
    .filter((f) => f.length >= 7 && f[5] !== '.' && f[5] !== '..')
    .map((f) => f[5]);
}

/** sha256 (hex) of a file of the image, dumped by debugfs into `scratchDir`. */
export async function imageFileSha256(image: string, path: string, scratchDir: string): Promise<string> {
  const dest = join(scratchDir, 'dumped.bin');
  await debugfs(image, `dump ${path} ${dest}`);
  return createHash('sha256').update(await readFile(dest)).digest('hex');
}
