// saveconfig.json builders and libiscsi URL helpers for the interop tests.

import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { SaveConfig } from '../../src/index.js';
import type { TpgConfig } from '../../src/config/model.js';

export const TARGET_IQN = 'iqn.2025-01.org.tsgt:interop';
export const MIB = 1024 * 1024;

export interface BasicConfigOptions {
  /** Directory holding the backing file(s). */
  dir: string;
  port: number;
  /** Extra portals on the same TPG (default: none). */
  extraPortals?: { ip_address: string; port: number }[];
  /** Bytes of the fileio LUN 0 (default 64 MiB). */
  size?: number;
  iqn?: string;
  /** Merged over the demo-mode TPG attributes. */
  tpgAttributes?: Record<string, number | string>;
  /** Merged over { MaxRecvDataSegmentLength: '262144' }. */
  tpgParameters?: Record<string, string>;
}

/**
 * One fileio LUN behind one TPG on 127.0.0.1:port, demo mode (any initiator,
 * no CHAP), write-back: the brief's minimal config.
 */
export function basicConfig(o: BasicConfigOptions): SaveConfig {
  return {
    storage_objects: [
      {
        plugin: 'fileio',
        name: 'disk0',
        dev: join(o.dir, 'disk0.img'),
        size: o.size ?? 64 * MIB,
        write_back: true,
        wwn: randomUUID(),
      },
    ],
    targets: [
      {
        fabric: 'iscsi',
        wwn: o.iqn ?? TARGET_IQN,
        tpgs: [
          {
            tag: 1,
            enable: true,
            attributes: {
              authentication: 0,
              generate_node_acls: 1,
              demo_mode_write_protect: 0,
              cache_dynamic_acls: 1,
              ...(o.tpgAttributes ?? {}),
            },
            parameters: { MaxRecvDataSegmentLength: '262144', ...(o.tpgParameters ?? {}) },
            portals: [{ ip_address: '127.0.0.1', port: o.port }, ...(o.extraPortals ?? [])],
            luns: [{ index: 0, storage_object: '/backstores/fileio/disk0' }],
            node_acls: [],
          },
        ],
      },
    ],
    fabric_modules: [],
  };
}

/** The (only) TPG of a config built by basicConfig. */
export function tpgOf(config: SaveConfig): TpgConfig {
  return config.targets[0].tpgs[0];
}

export interface UrlAuth {
  user?: string;
  password?: string;
  /** Mutual CHAP: the target's name and secret, as libiscsi's `target_user` / `target_password` URL arguments. */
  targetUser?: string;
  targetPassword?: string;
  headerDigest?: 'crc32c' | 'none';
}

// libiscsi splits user%password before URL-decoding and never decodes them, so
// secrets used in these tests avoid '%', '@', ':', '/', '?' and '&'.
function credentials(a: UrlAuth): string {
  if (a.user === undefined) return '';
  return a.password === undefined ? `${a.user}@` : `${a.user}%${a.password}@`;
}

function query(a: UrlAuth): string {
  const q: string[] = [];
  if (a.targetUser !== undefined) q.push(`target_user=${a.targetUser}`);
  if (a.targetPassword !== undefined) q.push(`target_password=${a.targetPassword}`);
  if (a.headerDigest !== undefined) q.push(`header_digest=${a.headerDigest}`);
  return q.length ? `?${q.join('&')}` : '';
}

function hostPart(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** iscsi://[user%password@]host:port[?...] (discovery: iscsi-ls). */
export function portalUrl(port: number, auth: UrlAuth = {}, host = '127.0.0.1'): string {
  return `iscsi://${credentials(auth)}${hostPart(host)}:${port}${query(auth)}`;
}

/** iscsi://[user%password@]host:port/iqn/lun[?...] */
export function lunUrl(port: number, lun = 0, auth: UrlAuth = {}, iqn = TARGET_IQN, host = '127.0.0.1'): string {
  return `iscsi://${credentials(auth)}${hostPart(host)}:${port}/${iqn}/${lun}${query(auth)}`;
}

export interface QemuIscsiOptions {
  initiatorName?: string;
  /** qemu's names: crc32c | none | crc32c-none | none-crc32c. */
  headerDigest?: 'crc32c' | 'none' | 'crc32c-none' | 'none-crc32c';
  user?: string;
  password?: string;
}

/**
 * A qemu `json:` image name for a raw LUN over qemu's iscsi protocol driver.
 * Unlike the iscsi:// form, it carries per-image options (initiator name,
 * header digest) without a global -iscsi option.
 */
export function qemuLun(port: number, lun: number, o: QemuIscsiOptions = {}, iqn = TARGET_IQN, host = '127.0.0.1'): string {
  const file: Record<string, string> = {
    driver: 'iscsi',
    transport: 'tcp',
    portal: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    target: iqn,
    lun: String(lun),
  };
  if (o.initiatorName !== undefined) file['initiator-name'] = o.initiatorName;
  if (o.headerDigest !== undefined) file['header-digest'] = o.headerDigest;
  if (o.user !== undefined) file.user = o.user;
  if (o.password !== undefined) file.password = o.password;
  return `json:${JSON.stringify({ driver: 'raw', file })}`;
}
