// The configuration tsgt writes on first start: one target on loopback with
// one 1 GiB sparse fileio disk, open to any initiator (LIO demo mode), like
// a fresh `targetcli /iscsi create` plus `luns/ create`. The disk is thin
// (emulate_tpu/emulate_tpws): UNMAP and WRITE SAME with UNMAP punch holes in
// the image. Where the native addon is missing the LUN presents itself fully
// provisioned instead (see backstore/open.ts).

import { join } from 'node:path';
import type { SaveConfig } from './model.js';
import { MAX_NAME_BYTES } from './names.js';
import { generateWwn } from './wwn.js';

export const DEFAULT_TARGET_PREFIX = 'iqn.2025-01.org.tsgt:';
export const DEFAULT_DISK_SIZE = 1024 ** 3;

/** A hostname reduced to the characters an IQN's unique part allows (RFC 3722). */
export function sanitizeHostname(hostname: string): string {
  const s = hostname
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[.-]+|[.-]+$/g, '')
    .slice(0, MAX_NAME_BYTES - DEFAULT_TARGET_PREFIX.length)
    .replace(/[.-]+$/, '');
  return s || 'localhost';
}

export function defaultTargetName(hostname: string): string {
  return DEFAULT_TARGET_PREFIX + sanitizeHostname(hostname);
}

/** `home` is tsgt's state directory; the disk image lives in `<home>/disks/`. */
export function defaultConfig(home: string, hostname: string): SaveConfig {
  return {
    storage_objects: [
      {
        plugin: 'fileio',
        name: 'disk0',
        dev: join(home, 'disks', 'disk0.img'),
        size: DEFAULT_DISK_SIZE,
        write_back: true,
        aio: false,
        wwn: generateWwn(),
        attributes: { block_size: 512, emulate_write_cache: 1, emulate_tpu: 1, emulate_tpws: 1 },
      },
    ],
    targets: [
      {
        fabric: 'iscsi',
        wwn: defaultTargetName(hostname),
        tpgs: [
          {
            tag: 1,
            enable: true,
            attributes: {
              authentication: 0,
              generate_node_acls: 1,
              demo_mode_write_protect: 0,
              cache_dynamic_acls: 1,
            },
            parameters: {},
            portals: [{ ip_address: '127.0.0.1', port: 3260, iser: false, offload: false }],
            luns: [{ index: 0, storage_object: '/backstores/fileio/disk0' }],
            node_acls: [],
          },
        ],
      },
    ],
    fabric_modules: [],
    tsgt: { version: 1 },
  };
}
