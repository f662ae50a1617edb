// Turn a validated storage object config into a live BlockDevice.

import { isAbsolute, resolve } from 'node:path';
import type { StorageObjectConfig } from '../config/model.js';
import { blockSizeOf } from '../config/attributes.js';
import { wantsThinProvisioning } from '../config/resolve.js';
import { loadNativeBlockIo, type NativeBlockIo } from '../native/blockio.js';
import type { BlockDevice } from './types.js';
import { BackstoreOpenError } from './errors.js';
import { openFileio } from './fileio.js';
import { type BlockEnvironment, openBlock } from './block.js';
import { openRamdisk } from './ramdisk.js';
import { storageEncrypted } from '../config/medium.js';
import { encryptedDevice } from './encrypted.js';
import { loadOrCreateKey, writeKeyFile } from './key-store.js';

export { BackstoreOpenError } from './errors.js';

export interface OpenStorageOptions {
  /** Directory relative `dev` paths are resolved against (default: the process cwd). */
  baseDir?: string;
  /** JSON path of the object in the config, e.g. "storage_objects[2]", copied into errors. */
  path?: string;
  /** Block backstore environment (sysfs root); tests only. */
  block?: BlockEnvironment;
  /** Provisioning calls for fileio/block: default the native addon; null: none (tests of the fallback). */
  native?: NativeBlockIo | null;
  /**
   * Told when the storage object asks for thin provisioning (emulate_tpu /
   * emulate_tpws) that the device cannot give; the LUN is then fully provisioned.
   */
  onWarning?: (message: string) => void;
  /**
   * Key file of a storage object with attributes.encryption=1 (see
   * key-store.ts keyFilePath); required for one, ignored otherwise.
   */
  keyFile?: string;
}

/** Why a device that was asked to be thin is not. */
function thinUnavailable(so: StorageObjectConfig, device: BlockDevice, native: NativeBlockIo | null | undefined): string | undefined {
  if (!wantsThinProvisioning(so) || device.unmap !== undefined) return undefined;
  const base = `storage object '${so.name}' has emulate_tpu/emulate_tpws set but is presented fully provisioned`;
  if (so.plugin === 'ramdisk') return undefined;
  if (device.readOnly) return `${base}: it is read-only`;
  if (native === null) return `${base}: provisioning calls disabled`;
  if (native === undefined) {
    const load = loadNativeBlockIo();
    if (load.io === undefined) return `${base}: ${load.error ?? 'native addon unavailable'}`;
  }
  return so.plugin === 'block'
    ? `${base}: the device does not accept discards (queue/discard_max_bytes is 0)`
    : `${base}: its file system cannot punch holes (fallocate PUNCH_HOLE unsupported)`;
}

/** Rejects with BackstoreOpenError naming the storage object. */
export async function openStorageObject(so: StorageObjectConfig, options: OpenStorageOptions = {}): Promise<BlockDevice> {
  const device = await openDevice(so, options);
  const why = thinUnavailable(so, device, options.native);
  if (why !== undefined) options.onWarning?.(why);
  return storageEncrypted(so) ? withEncryption(so, device, options) : device;
}

/** Bytes at the start of the medium looked at when a key is created (a partition table or file system would be there). */
const PROBE_BYTES = 1024 * 1024;

/** The device wrapped in AES-256-XTS under the storage object's key (created on first start); closes it on failure. */
async function withEncryption(so: StorageObjectConfig, device: BlockDevice, options: OpenStorageOptions): Promise<BlockDevice> {
  const where = options.path === undefined ? 'attributes.encryption' : `${options.path}.attributes.encryption`;
  const keyFile = options.keyFile;
  try {
    if (keyFile === undefined) throw new Error('encryption=1 needs a state directory to keep the storage object\'s key in');
    const { key, created } = await loadOrCreateKey(keyFile);
    try {
      if (created && !(await looksEmpty(device))) {
        options.onWarning?.(`storage object '${so.name}': created encryption key ${keyFile}, but the medium already holds data, which does not decrypt with it`);
      }
      return encryptedDevice(device, { key, persistKey: (k) => writeKeyFile(keyFile, k) });
    } finally {
      key.fill(0);
    }
  } catch (e) {
    await device.close().catch(() => undefined);
    throw new BackstoreOpenError(`${where}: ${e instanceof Error ? e.message : String(e)}`, { storageObject: so.name, path: options.path, cause: e });
  }
}

async function looksEmpty(device: BlockDevice): Promise<boolean> {
  const blocks = Math.min(device.blockCount, Math.max(1, Math.floor(PROBE_BYTES / device.blockSize)));
  const head = await device.read(0, blocks);
  return head.equals(Buffer.alloc(head.length));
}

async function openDevice(so: StorageObjectConfig, options: OpenStorageOptions): Promise<BlockDevice> {
  const blockSize = blockSizeOf(so.attributes);
  const dev = (p: string) => (isAbsolute(p) || !options.baseDir ? p : resolve(options.baseDir, p));
  const native = options.native;
  try {
    switch (so.plugin) {
      case 'fileio':
        return await openFileio({ dev: dev(so.dev), size: so.size, write_back: so.write_back ?? false, blockSize, name: so.name, native });
      case 'block':
        return await openBlock(
          {
            dev: dev(so.dev),
            readOnly: so.readonly,
            write_back: so.write_back,
            exclusive: so.exclusive,
            blockSize: so.attributes?.block_size === undefined ? undefined : blockSize,
            name: so.name,
          },
          native === undefined ? options.block : { ...options.block, native },
        );
      case 'ramdisk':
        return await openRamdisk({ size: so.size, blockSize, nullio: so.nullio, name: so.name });
      default: {
        const plugin = (so as { plugin: unknown }).plugin;
        throw new BackstoreOpenError(`storage object ${(so as { name?: unknown }).name}: unsupported plugin ${String(plugin)}`);
      }
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new BackstoreOpenError(options.path ? `${options.path}: ${message}` : message, {
      storageObject: so.name,
      path: options.path,
      cause: e instanceof BackstoreOpenError ? e.cause ?? e : e,
    });
  }
}
