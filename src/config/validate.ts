// validateConfig: untrusted JSON → SaveConfig, or every error found, each
// naming its JSON path. Mirrors what rtslib's RTSRoot.restore() would accept
// for fileio/block/ramdisk storage and the iSCSI fabric, and refuses anything
// tsgt would otherwise silently ignore.
//
// The returned config is normalised: plugin aliases (rd_mcp, iblock) become
// rtslib's dump names, TPG `enable` 1/0 becomes a boolean, empty auth strings
// are dropped, missing lists become [], and missing TPG tags are assigned.

import type {
  ChapCredentials,
  FabricModuleConfig,
  LunConfig,
  MappedLunConfig,
  NodeAclConfig,
  PortalConfig,
  SaveConfig,
  TargetConfig,
  TpgConfig,
} from './model.js';
import {
  type Checker,
  type ConfigError,
  type JsonObject,
  asObject,
  compact,
  fail,
  join,
  list,
  newChecker,
  onlyKeys,
  optBool,
  optInt,
  optNullableString,
  optString,
  requireInt,
  requireString,
} from './check.js';
import { ACL_ATTRIBUTES, TPG_ATTRIBUTES, checkAttributes } from './attributes.js';
import { checkTpgParameters } from './params.js';
import { nodeNameKey, nodeNameProblem } from './names.js';
import { canonicalIp } from './net.js';
import { parseStorageObjectRef } from './resolve.js';
import { checkStorageObjects } from './storage-objects.js';
import { checkTsgt } from './tsgt-settings.js';
import { checkLunAluaGroups } from './alua.js';

export type { ConfigError } from './check.js';

export type ValidateResult = { ok: true; config: SaveConfig } | { ok: false; errors: ConfigError[] };

// rtslib LUN.MAX_TARGET_LUN; RFC/SAM flat addressing reaches 16383, peripheral 255.
const MAX_LUN = 65535;

export function validateConfig(input: unknown): ValidateResult {
  const c = newChecker();
  const root = asObject(c, '', input);
  if (!root) return { ok: false, errors: c.errors };
  onlyKeys(c, '', root, ['storage_objects', 'targets', 'fabric_modules', 'tsgt']);
  // plugin/name of every declared storage object, supported or not (so an unsupported one causes one error, not one per LUN).
  const declared = new Set<string>();
  const storage_objects = checkStorageObjects(c, root.storage_objects, declared);
  const fabric_modules = checkFabricModules(c, root.fabric_modules);
  const targets = checkTargets(c, root.targets, declared);
  checkLunAluaGroups(c, root, storage_objects);
  const tsgt = checkTsgt(c, 'tsgt', root.tsgt);
  if (c.errors.length > 0) return { ok: false, errors: c.errors };
  const config: SaveConfig = { storage_objects, targets, fabric_modules };
  if (tsgt) config.tsgt = tsgt;
  return { ok: true, config };
}

// ---- auth ------------------------------------------------------------------

/** Read the four credentials under `prefix` ('chap_' or 'discovery_'); a half-set pair is an error. */
function checkCredentials(c: Checker, path: string, o: JsonObject, prefix: string): Record<string, string | undefined> {
  const get = (k: string) => optString(c, join(path, prefix + k), o[prefix + k]);
  const r = {
    userid: get('userid'),
    password: get('password'),
    mutual_userid: get('mutual_userid'),
    mutual_password: get('mutual_password'),
  };
  const pair = (a: 'userid' | 'mutual_userid', b: 'password' | 'mutual_password') => {
    if (r[a] !== undefined && r[b] === undefined) fail(c, join(path, prefix + b), 'chap-incomplete', `${prefix + a} is set, so ${prefix + b} is required`);
    if (r[b] !== undefined && r[a] === undefined) fail(c, join(path, prefix + a), 'chap-incomplete', `${prefix + b} is set, so ${prefix + a} is required`);
  };
  pair('userid', 'password');
  pair('mutual_userid', 'mutual_password');
  // RFC 7143 §12.1.3: mutual CHAP is the target answering after the initiator authenticated.
  if ((r.mutual_userid !== undefined || r.mutual_password !== undefined) && r.userid === undefined && r.password === undefined) {
    fail(c, join(path, prefix + 'mutual_userid'), 'chap-mutual-without-oneway', `mutual CHAP needs ${prefix}userid and ${prefix}password too`);
  }
  return r;
}

function chap(c: Checker, path: string, o: JsonObject): ChapCredentials {
  const r = checkCredentials(c, path, o, 'chap_');
  return compact({
    chap_userid: r.userid,
    chap_password: r.password,
    chap_mutual_userid: r.mutual_userid,
    chap_mutual_password: r.mutual_password,
  });
}

const CHAP_KEYS = ['chap_userid', 'chap_password', 'chap_mutual_userid', 'chap_mutual_password'];

// ---- fabric modules --------------------------------------------------------

function checkFabricModules(c: Checker, v: unknown): FabricModuleConfig[] {
  const out: FabricModuleConfig[] = [];
  const seen = new Set<string>();
  for (const { path, value: fm } of list(c, 'fabric_modules', v)) {
    const name = requireString(c, join(path, 'name'), fm.name);
    if (name === undefined) continue;
    if (name !== 'iscsi') {
      fail(c, join(path, 'name'), 'unsupported-fabric', `fabric '${name}' is not supported; tsgt implements iscsi only`);
      continue;
    }
    if (seen.has(name)) fail(c, join(path, 'name'), 'duplicate-fabric-module', `fabric module '${name}' is listed twice`);
    seen.add(name);
    onlyKeys(c, path, fm, ['name', 'discovery_enable_auth', 'discovery_userid', 'discovery_password', 'discovery_mutual_userid', 'discovery_mutual_password']);
    const enable = optBool(c, join(path, 'discovery_enable_auth'), fm.discovery_enable_auth);
    const r = checkCredentials(c, path, fm, 'discovery_');
    if (enable && r.userid === undefined && r.password === undefined) {
      fail(c, join(path, 'discovery_userid'), 'chap-incomplete', 'discovery_enable_auth is true, so discovery_userid and discovery_password are required');
    }
    out.push(compact({
      name,
      discovery_enable_auth: enable,
      discovery_userid: r.userid,
      discovery_password: r.password,
      discovery_mutual_userid: r.mutual_userid,
      discovery_mutual_password: r.mutual_password,
    }));
  }
  return out;
}

// ---- targets ---------------------------------------------------------------

function checkName(c: Checker, path: string, v: unknown): string | undefined {
  const name = requireString(c, path, v);
  if (name === undefined) return undefined;
  const problem = nodeNameProblem(name);
  if (problem) return fail(c, path, problem.rule, `'${name.length > 60 ? name.slice(0, 60) + '…' : name}' ${problem.reason}`);
  return name;
}

function checkTargets(c: Checker, v: unknown, declared: Set<string>): TargetConfig[] {
  const out: TargetConfig[] = [];
  const names = new Map<string, string>();
  for (const { path, value: t } of list(c, 'targets', v)) {
    const fabric = requireString(c, join(path, 'fabric'), t.fabric);
    if (fabric === undefined) continue;
    if (fabric !== 'iscsi') {
      fail(c, join(path, 'fabric'), 'unsupported-fabric', `fabric '${fabric}' is not supported; tsgt implements iscsi only`);
      continue;
    }
    onlyKeys(c, path, t, ['wwn', 'fabric', 'tpgs']);
    const wwn = checkName(c, join(path, 'wwn'), t.wwn);
    if (wwn !== undefined) {
      const prev = names.get(nodeNameKey(wwn));
      if (prev) fail(c, join(path, 'wwn'), 'duplicate-target', `target ${wwn} is already defined at ${prev}`);
      else names.set(nodeNameKey(wwn), path);
    }
    const tpgs: TpgConfig[] = [];
    const tags = new Set<number>();
    // LIO refuses the same ip:port in two TPGs of one target (the portal picks the TPG at login);
    // different targets may share a portal, as every targetcli target shares [::0]:3260.
    const portals = new Map<string, string>();
    for (const { path: p, value: tpg } of list(c, join(path, 'tpgs'), t.tpgs)) {
      const checked = checkTpg(c, p, tpg, declared, portals);
      if (checked.tag !== undefined) {
        if (tags.has(checked.tag)) fail(c, join(p, 'tag'), 'duplicate-tag', `TPG tag ${checked.tag} is used twice in this target`);
        tags.add(checked.tag);
      }
      tpgs.push(checked as TpgConfig);
    }
    // rtslib lets LIO pick the tag when it is missing: the lowest free one.
    let next = 1;
    for (const tpg of tpgs) {
      if (tpg.tag !== undefined) continue;
      while (tags.has(next)) next++;
      tpg.tag = next;
      tags.add(next);
    }
    out.push({ fabric: 'iscsi', wwn: wwn ?? '', tpgs });
  }
  return out;
}

type PartialTpg = Omit<TpgConfig, 'tag'> & { tag?: number };

function checkTpg(c: Checker, path: string, tpg: JsonObject, declared: Set<string>, portals: Map<string, string>): PartialTpg {
  onlyKeys(c, path, tpg, ['tag', 'enable', 'attributes', 'parameters', 'portals', 'luns', 'node_acls', ...CHAP_KEYS]);
  const tag = optInt(c, join(path, 'tag'), tpg.tag, 1, 65535);
  const enable = optBool(c, join(path, 'enable'), tpg.enable) ?? true;
  const attributes = checkAttributes(c, join(path, 'attributes'), tpg.attributes, TPG_ATTRIBUTES);
  const parameters = checkTpgParameters(c, join(path, 'parameters'), tpg.parameters);
  // Indexes of every LUN entry, even one with a bad storage_object, so that error is not repeated per mapped LUN.
  const lunIndexes = new Set<number>();
  const luns = checkLuns(c, join(path, 'luns'), tpg.luns, declared, lunIndexes);
  const acls: NodeAclConfig[] = [];
  const aclNames = new Map<string, string>();
  for (const { path: p, value: acl } of list(c, join(path, 'node_acls'), tpg.node_acls)) {
    const checked = checkAcl(c, p, acl, lunIndexes);
    if (checked.node_wwn) {
      const key = nodeNameKey(checked.node_wwn);
      const prev = aclNames.get(key);
      if (prev) fail(c, join(p, 'node_wwn'), 'duplicate-acl', `an ACL for ${checked.node_wwn} already exists at ${prev}`);
      else aclNames.set(key, p);
    }
    acls.push(checked);
  }
  return compact({
    tag,
    enable,
    attributes,
    parameters,
    portals: checkPortals(c, join(path, 'portals'), tpg.portals, portals),
    luns,
    node_acls: acls,
    ...chap(c, path, tpg),
  });
}

function checkPortals(c: Checker, path: string, v: unknown, seen: Map<string, string>): PortalConfig[] {
  const out: PortalConfig[] = [];
  for (const { path: p, value: np } of list(c, path, v)) {
    onlyKeys(c, p, np, ['ip_address', 'port', 'iser', 'offload']);
    let ip = requireString(c, join(p, 'ip_address'), np.ip_address);
    const canonical = ip === undefined ? undefined : canonicalIp(ip);
    if (ip !== undefined && canonical === undefined) {
      ip = fail(c, join(p, 'ip_address'), 'ip-address', `'${ip}' is not an IPv4 or IPv6 address literal`);
    }
    const port = requireInt(c, join(p, 'port'), np.port, 1, 65535);
    const iser = optBool(c, join(p, 'iser'), np.iser);
    const offload = optBool(c, join(p, 'offload'), np.offload);
    if (iser) fail(c, join(p, 'iser'), 'unsupported-feature', 'iSER portals are not supported');
    if (offload) fail(c, join(p, 'offload'), 'unsupported-feature', 'offloaded (cxgbit) portals are not supported');
    if (ip === undefined || port === undefined) continue;
    const key = `${canonical}:${port}`;
    const prev = seen.get(key);
    if (prev) fail(c, p, 'duplicate-portal', `portal ${ip}:${port} is already used by ${prev} of this target`);
    else seen.set(key, p);
    out.push(compact({ ip_address: ip, port, iser, offload }));
  }
  return out;
}

function checkLuns(c: Checker, path: string, v: unknown, declared: Set<string>, seen: Set<number>): LunConfig[] {
  const out: LunConfig[] = [];
  for (const { path: p, value: lun } of list(c, path, v)) {
    onlyKeys(c, p, lun, ['index', 'storage_object', 'alias', 'alua_tg_pt_gp_name']);
    const index = requireInt(c, join(p, 'index'), lun.index, 0, MAX_LUN);
    if (index !== undefined) {
      if (seen.has(index)) fail(c, join(p, 'index'), 'duplicate-lun', `LUN ${index} is defined twice in this TPG`);
      seen.add(index);
    }
    const refPath = join(p, 'storage_object');
    const raw = requireString(c, refPath, lun.storage_object);
    let ref: string | undefined;
    if (raw !== undefined) {
      const parsed = parseStorageObjectRef(raw);
      if (!parsed) {
        fail(c, refPath, 'storage-object-ref', `'${raw}' is not of the form /backstores/<plugin>/<name>`);
      } else if (!declared.has(`${parsed.plugin}/${parsed.name}`) && !declared.has(`${parsed.rawPlugin}/${parsed.name}`)) {
        fail(c, refPath, 'storage-object-missing', `no storage object ${parsed.rawPlugin}/${parsed.name} is defined`);
      } else {
        ref = `/backstores/${parsed.plugin}/${parsed.name}`;
      }
    }
    const alias = optNullableString(c, join(p, 'alias'), lun.alias);
    const gp = optNullableString(c, join(p, 'alua_tg_pt_gp_name'), lun.alua_tg_pt_gp_name);
    if (index !== undefined && ref !== undefined) {
      out.push(compact({ index, storage_object: ref, alias, alua_tg_pt_gp_name: gp }));
    }
  }
  return out;
}

function checkAcl(c: Checker, path: string, acl: JsonObject, lunIndexes: Set<number>): NodeAclConfig {
  onlyKeys(c, path, acl, ['node_wwn', 'attributes', 'mapped_luns', 'tag', ...CHAP_KEYS]);
  const node_wwn = checkName(c, join(path, 'node_wwn'), acl.node_wwn) ?? '';
  const attributes = checkAttributes(c, join(path, 'attributes'), acl.attributes, ACL_ATTRIBUTES);
  const tag = optNullableString(c, join(path, 'tag'), acl.tag);
  const mapped: MappedLunConfig[] = [];
  const seen = new Set<number>();
  for (const { path: p, value: m } of list(c, join(path, 'mapped_luns'), acl.mapped_luns)) {
    onlyKeys(c, p, m, ['index', 'tpg_lun', 'write_protect', 'alias', 'tag']);
    const index = requireInt(c, join(p, 'index'), m.index, 0, MAX_LUN);
    if (index !== undefined) {
      if (seen.has(index)) fail(c, join(p, 'index'), 'duplicate-mapped-lun', `mapped LUN ${index} is defined twice for this initiator`);
      seen.add(index);
    }
    const tpgLun = requireInt(c, join(p, 'tpg_lun'), m.tpg_lun, 0, MAX_LUN);
    if (tpgLun !== undefined && !lunIndexes.has(tpgLun)) {
      fail(c, join(p, 'tpg_lun'), 'tpg-lun-missing', `the TPG has no LUN ${tpgLun}`);
    }
    const write_protect = optBool(c, join(p, 'write_protect'), m.write_protect) ?? false;
    const alias = optNullableString(c, join(p, 'alias'), m.alias);
    const mtag = optNullableString(c, join(p, 'tag'), m.tag);
    if (index !== undefined && tpgLun !== undefined) {
      mapped.push(compact({ index, tpg_lun: tpgLun, write_protect, alias, tag: mtag }));
    }
  }
  return compact({ node_wwn, attributes, mapped_luns: mapped, tag, ...chap(c, path, acl) });
}

