// Media encryption keys of encrypted storage objects (encrypted.ts), one file
// per LU: <stateDir>/keys/<wwn>.key, mode 0600 in a 0700 directory.
//
// File layout (104 bytes): "TSGTKEY1", the 64-byte AES-256-XTS key (data
// key, then tweak key, as OpenSSL takes them), SHA-256 of the two. The
// checksum turns a torn or damaged file into an error instead of a key that
// silently decrypts everything to garbage; a missing file is the only case in
// which a new key is made. Messages name the file, never its content.
//
// Writes are atomic (temp file, fsync, rename, fsync of the directory). A
// replacement (CRYPTOGRAPHIC ERASE) first overwrites the old file in place so
// that the old key's blocks on a file system that updates in place no longer
// hold it, then renames. A crash during that in-place write may leave a torn
// file: the next start then fails naming it, and the data it protected is
// unreadable, which is what the erase was for.

import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { errnoCode } from './errors.js';
import { syncDirectory, writeFileAtomic } from '../util/atomic-file.js';

/** AES-256-XTS takes two 256-bit keys. */
export const XTS_KEY_BYTES = 64;

const MAGIC = Buffer.from('TSGTKEY1', 'latin1');
const DIGEST_BYTES = 32;
export const KEY_FILE_BYTES = MAGIC.length + XTS_KEY_BYTES + DIGEST_BYTES;

/** A key file that exists but cannot be used, or cannot be written. */
export class KeyStoreError extends Error {
  readonly code = 'TSGT_ERR_KEY_STORE';
  constructor(
    readonly path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`key file ${path}: ${message}`, options);
    this.name = 'KeyStoreError';
  }
}

/** <stateDir>/keys/<wwn>.key; characters other than [A-Za-z0-9_-] (and a leading '.') are %-escaped. */
export function keyFilePath(stateDir: string, wwn: string): string {
  const safe = wwn.replace(/[^A-Za-z0-9_.-]|^\./g, (ch) => `%${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return join(stateDir, 'keys', `${safe}.key`);
}

/** A fresh random XTS key whose two halves differ (OpenSSL refuses equal halves). */
export function generateXtsKey(): Buffer {
  for (;;) {
    const key = randomBytes(XTS_KEY_BYTES);
    if (!key.subarray(0, 32).equals(key.subarray(32))) return key;
  }
}

function digest(key: Buffer): Buffer {
  return createHash('sha256').update(MAGIC).update(key).digest();
}

export function encodeKeyFile(key: Buffer): Buffer {
  if (key.length !== XTS_KEY_BYTES) throw new RangeError(`an XTS key is ${XTS_KEY_BYTES} bytes`);
  return Buffer.concat([MAGIC, key, digest(key)]);
}

/** The key in a key file's bytes, or why there is none. */
export function decodeKeyFile(bytes: Buffer): Buffer | string {
  if (bytes.length !== KEY_FILE_BYTES) return `is ${bytes.length} bytes, a key file is ${KEY_FILE_BYTES}`;
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) return 'is not a tsgt key file (bad magic)';
  const key = Buffer.from(bytes.subarray(MAGIC.length, MAGIC.length + XTS_KEY_BYTES));
  if (!digest(key).equals(bytes.subarray(MAGIC.length + XTS_KEY_BYTES))) return 'checksum mismatch (the file is damaged)';
  if (key.subarray(0, 32).equals(key.subarray(32))) return 'holds a key whose two halves are equal';
  return key;
}

/** The key, or undefined when the file does not exist. Rejects with KeyStoreError for anything else. */
export async function readKeyFile(path: string): Promise<Buffer | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw new KeyStoreError(path, `cannot read: ${errnoCode(e) ?? String(e)}`, { cause: e });
  }
  const key = decodeKeyFile(bytes);
  bytes.fill(0);
  if (typeof key === 'string') {
    throw new KeyStoreError(path, `${key}; refusing to start with a new key, which would make the data unreadable (restore the file, or delete it to start over with an empty medium)`);
  }
  return key;
}

/** The keys directory, created 0700 (and its creation made durable). */
async function ensureKeyDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  if (created !== undefined) await syncDirectory(dirname(dir));
}

/**
 * Persist `key` at `path` atomically. An existing file is first overwritten in
 * place with the new content (see the header comment), then replaced.
 */
export async function writeKeyFile(path: string, key: Buffer): Promise<void> {
  const dir = dirname(path);
  const content = encodeKeyFile(key);
  try {
    await ensureKeyDir(dir);
    await writeFileAtomic(path, content, { beforeRename: () => overwriteInPlace(path, content) });
  } catch (e) {
    if (e instanceof KeyStoreError) throw e;
    throw new KeyStoreError(path, `cannot write: ${errnoCode(e) ?? String(e)}`, { cause: e });
  } finally {
    content.fill(0);
  }
}

async function overwriteInPlace(path: string, content: Buffer): Promise<void> {
  let h;
  try {
    h = await open(path, constants.O_WRONLY);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw e;
  }
  try {
    await h.write(content, 0, content.length, 0);
    await h.sync();
  } finally {
    await h.close();
  }
}

/** The LU's key: read from `path`, or made and persisted there when the file does not exist. */
export async function loadOrCreateKey(path: string): Promise<{ key: Buffer; created: boolean }> {
  const existing = await readKeyFile(path);
  if (existing !== undefined) return { key: existing, created: false };
  const key = generateXtsKey();
  await writeKeyFile(path, key);
  return { key, created: true };
}
