// Starts a tsgt target on a free loopback port for protocol tests.
import { createServer } from 'node:net';
import { startTarget, type TargetServer } from '../../src/index.js';
import type { SaveConfig, StorageObjectConfig, TpgConfig } from '../../src/config/model.js';

export const TARGET = 'iqn.2025-01.org.tsgt:protocol';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface Started {
  server: TargetServer;
  port: number;
  config: SaveConfig;
}

/** A target with one LUN: a ramdisk of `sizeMiB`, or `storage` when given. */
export async function startRamTarget(
  o: {
    tpg?: Partial<TpgConfig>;
    parameters?: Record<string, string>;
    tsgt?: SaveConfig['tsgt'];
    sizeMiB?: number;
    stateDir?: string;
    port?: number;
    storage?: StorageObjectConfig;
  } = {},
): Promise<Started> {
  const port = o.port ?? (await freePort());
  const storage: StorageObjectConfig = o.storage ?? {
    plugin: 'ramdisk',
    name: 'ram0',
    size: (o.sizeMiB ?? 16) * 1024 * 1024,
    wwn: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0',
  };
  const config: SaveConfig = {
    storage_objects: [storage],
    targets: [
      {
        fabric: 'iscsi',
        wwn: TARGET,
        tpgs: [
          {
            tag: 1,
            enable: true,
            attributes: { authentication: 0, generate_node_acls: 1, demo_mode_write_protect: 0, cache_dynamic_acls: 1 },
            parameters: { MaxRecvDataSegmentLength: '65536', ...(o.parameters ?? {}) },
            portals: [{ ip_address: '127.0.0.1', port }],
            luns: [{ index: 0, storage_object: `/backstores/${storage.plugin}/${storage.name}` }],
            node_acls: [],
            ...(o.tpg ?? {}),
          },
        ],
      },
    ],
    fabric_modules: [],
    ...(o.tsgt ? { tsgt: o.tsgt } : {}),
  };
  const server = await startTarget(config, { stateDir: o.stateDir });
  return { server, port, config };
}
