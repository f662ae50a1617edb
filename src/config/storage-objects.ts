// storage_objects[]: rtslib StorageObject dumps for the fileio, block and
// ramdisk plugins (rd_mcp and iblock accepted as aliases, as rtslib's
// so_mapping does).

import type { AluaTpgConfig, StorageObjectConfig, StoragePlugin } from './model.js';
import { type Checker, compact, fail, join, list, onlyKeys, optBool, optString, requireInt, requireString, typeName } from './check.js';
import { STORAGE_ATTRIBUTES, blockSizeOf, checkAttributes } from './attributes.js';
import { PLUGIN_ALIASES } from './resolve.js';
import { checkAluaGroup, checkAluaGroupSet } from './alua.js';

/** rtslib plugins tsgt does not implement, with why. */
const UNSUPPORTED_PLUGINS: Readonly<Record<string, string>> = {
  pscsi: 'SCSI pass-through (pscsi) is not supported',
  user: 'TCMU user-backed storage (user) is not supported',
};

// ---- storage objects -------------------------------------------------------

const SO_COMMON = ['name', 'plugin', 'wwn', 'attributes', 'alua_tpgs'];
const SO_KEYS: Readonly<Record<StoragePlugin, readonly string[]>> = {
  // 'exists' and 'buffered_mode' are legacy keys rtslib's restore drops.
  fileio: [...SO_COMMON, 'dev', 'size', 'write_back', 'aio', 'exists', 'buffered_mode'],
  block: [...SO_COMMON, 'dev', 'readonly', 'write_back', 'exclusive', 'exists'],
  ramdisk: [...SO_COMMON, 'size', 'nullio', 'exists'],
};

export function checkStorageObjects(c: Checker, v: unknown, declared: Set<string>): StorageObjectConfig[] {
  const out: StorageObjectConfig[] = [];
  const wwns = new Map<string, string>();
  for (const { path, value: so } of list(c, 'storage_objects', v)) {
    const name = requireString(c, join(path, 'name'), so.name);
    if (name !== undefined && /[/\s\0]/.test(name)) {
      fail(c, join(path, 'name'), 'so-name', `storage object name '${name}' must not contain '/' or white space`);
    }
    const rawPlugin = requireString(c, join(path, 'plugin'), so.plugin);
    if (rawPlugin === undefined) continue;
    const plugin = Object.hasOwn(PLUGIN_ALIASES, rawPlugin) ? PLUGIN_ALIASES[rawPlugin] : undefined;
    if (!plugin) {
      if (name !== undefined) declared.add(`${rawPlugin}/${name}`);
      const why = UNSUPPORTED_PLUGINS[rawPlugin] ?? `plugin '${rawPlugin}' is unknown`;
      fail(c, join(path, 'plugin'), 'unsupported-plugin', `${why}; tsgt supports fileio, block and ramdisk`);
      continue;
    }
    if (name !== undefined) {
      const key = `${plugin}/${name}`;
      if (declared.has(key)) fail(c, join(path, 'name'), 'duplicate-name', `a ${plugin} storage object named '${name}' already exists`);
      declared.add(key);
    }
    onlyKeys(c, path, so, SO_KEYS[plugin]);
    const wwn = optString(c, join(path, 'wwn'), so.wwn);
    if (wwn !== undefined) {
      // LIO's vpd_unit_serial: printable ASCII, at most 254 bytes (INQUIRY_VPD_SERIAL_LEN).
      if (!/^[\x21-\x7e]{1,254}$/.test(wwn)) {
        fail(c, join(path, 'wwn'), 'wwn-format', 'must be 1..254 printable ASCII characters without spaces');
      } else {
        const prev = wwns.get(wwn.toLowerCase());
        if (prev) fail(c, join(path, 'wwn'), 'duplicate-wwn', `wwn ${wwn} is already used by ${prev}`);
        else wwns.set(wwn.toLowerCase(), path);
      }
    }
    const attributes = checkAttributes(c, join(path, 'attributes'), so.attributes, STORAGE_ATTRIBUTES);
    const blockSize = blockSizeOf(attributes);
    const alua_tpgs = checkAluaTpgs(c, join(path, 'alua_tpgs'), so.alua_tpgs);
    const common = { name: name ?? '', wwn, attributes, alua_tpgs };
    switch (plugin) {
      case 'fileio':
        out.push(compact({
          ...common,
          plugin,
          dev: requireString(c, join(path, 'dev'), so.dev) ?? '',
          size: checkSize(c, join(path, 'size'), so.size, blockSize, false),
          write_back: optBool(c, join(path, 'write_back'), so.write_back ?? so.buffered_mode),
          aio: optBool(c, join(path, 'aio'), so.aio),
        }));
        break;
      case 'block':
        out.push(compact({
          ...common,
          plugin,
          dev: requireString(c, join(path, 'dev'), so.dev) ?? '',
          readonly: optBool(c, join(path, 'readonly'), so.readonly),
          write_back: optBool(c, join(path, 'write_back'), so.write_back),
          exclusive: optBool(c, join(path, 'exclusive'), so.exclusive),
        }));
        break;
      case 'ramdisk':
        out.push(compact({
          ...common,
          plugin,
          size: checkSize(c, join(path, 'size'), so.size, blockSize, true) ?? 0,
          nullio: optBool(c, join(path, 'nullio'), so.nullio),
        }));
        break;
    }
  }
  return out;
}

function checkSize(c: Checker, path: string, v: unknown, blockSize: number, required: boolean): number | undefined {
  if (v === undefined) return required ? fail(c, path, 'required', 'is required') : undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    return fail(c, path, 'type', `must be an integer number of bytes, not ${typeName(v)}`);
  }
  if (v <= 0) return fail(c, path, 'size', `must be greater than 0, not ${v}`);
  if (v % blockSize !== 0) {
    return fail(c, path, 'size-alignment', `${v} is not a multiple of the block size ${blockSize}`);
  }
  return v;
}

function checkAluaTpgs(c: Checker, path: string, v: unknown): AluaTpgConfig[] | undefined {
  if (v === undefined) return undefined;
  const out: AluaTpgConfig[] = [];
  for (const { path: p, value: g } of list(c, path, v)) {
    const name = requireString(c, join(p, 'name'), g.name);
    const id = requireInt(c, join(p, 'tg_pt_gp_id'), g.tg_pt_gp_id, 0, 65535);
    for (const [k, val] of Object.entries(g)) {
      if (val !== null && !['number', 'string', 'boolean'].includes(typeof val)) {
        fail(c, join(p, k), 'type', `must be a number, string, boolean or null, not ${typeName(val)}`);
      }
    }
    checkAluaGroup(c, p, g);
    if (name !== undefined && id !== undefined) out.push({ ...(g as AluaTpgConfig), name, tg_pt_gp_id: id });
  }
  checkAluaGroupSet(c, path, v);
  return out;
}
