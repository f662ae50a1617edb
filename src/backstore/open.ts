// Turn a validated storage object config into a live BlockDevice.

import { isAbsolute, resolve } from 'node:path';
import type { StorageObjectConfig } from '../config/model.js';
import { blockSizeOf } from '../config/attributes.js';
import type { BlockDevice } from './types.js';
import { BackstoreOpenError } from './errors.js';
import { openFileio } from './fileio.js';
import { type BlockEnvironment, openBlock } from './block.js';
import { openRamdisk } from './ramdisk.js';

export { BackstoreOpenError } from './errors.js';

export interface OpenStorageOptions {
  /** Directory relative `dev` paths are resolved against (default: the process cwd). */
  baseDir?: string;
  /** JSON path of the object in the config, e.g. "storage_objects[2]", copied into errors. */
  path?: string;
  /** Block backstore environment (sysfs root); tests only. */
  block?: BlockEnvironment;
}

/** Rejects with BackstoreOpenError naming the storage object. */
export async function openStorageObject(so: StorageObjectConfig, options: OpenStorageOptions = {}): Promise<BlockDevice> {
  const blockSize = blockSizeOf(so.attributes);
  const dev = (p: string) => (isAbsolute(p) || !options.baseDir ? p : resolve(options.baseDir, p));
  try {
    switch (so.plugin) {
      case 'fileio':
        return await openFileio({ dev: dev(so.dev), size: so.size, write_back: so.write_back ?? false, blockSize, name: so.name });
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
          options.block,
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
