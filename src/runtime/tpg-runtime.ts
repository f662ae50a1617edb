// A live target portal group: who may log in, with which CHAP secrets, and
// which LUNs each initiator sees — LIO's rules, as targetcli users know them:
// an explicit node ACL wins; otherwise generate_node_acls=1 (demo mode) admits
// everyone with the TPG's LUNs and TPG-level CHAP credentials.

import type { NodeAclConfig, TargetConfig, TpgConfig, ChapCredentials as ConfigChap } from '../config/model.js';
import type { LogicalUnit, LunMapping, LunView } from '../scsi/api.js';
import type { ChapCredentials, LoginTarget } from '../iscsi/login/index.js';
import { bareAddress } from './portals.js';

export interface TpgRuntime {
  readonly targetName: string;
  readonly tag: number;
  readonly portals: readonly { ip: string; port: number }[];
  readonly loginTarget: LoginTarget;
  /** May this initiator log in (ACL or demo mode)? */
  allows(initiatorName: string): boolean;
  lunView(initiatorName: string): LunView;
  readonly units: readonly LogicalUnit[];
}

function attr(tpg: TpgConfig, name: string, fallback: number): number {
  const v = tpg.attributes?.[name];
  if (v === undefined) return fallback;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : fallback;
}

function credentials(c: ConfigChap): ChapCredentials | undefined {
  if (!c.chap_userid || !c.chap_password) return undefined;
  const out: ChapCredentials = { userid: c.chap_userid, password: c.chap_password };
  if (c.chap_mutual_userid && c.chap_mutual_password) {
    out.mutualUserid = c.chap_mutual_userid;
    out.mutualPassword = c.chap_mutual_password;
  }
  return out;
}

/** Initiator names are case-insensitive in practice (RFC 3722 stringprep lower-cases them). */
function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export function buildTpgRuntime(
  target: TargetConfig,
  tpg: TpgConfig,
  unitFor: (storageObjectPath: string) => LogicalUnit,
): TpgRuntime {
  const generateNodeAcls = attr(tpg, 'generate_node_acls', 0) === 1;
  // LIO's default is demo_mode_write_protect=1; targetcli docs tell users to set 0.
  const demoWriteProtect = attr(tpg, 'demo_mode_write_protect', 1) === 1;
  const authentication = attr(tpg, 'authentication', 0) === 1;
  const tpgLuns = new Map<number, LogicalUnit>();
  for (const lun of tpg.luns) tpgLuns.set(lun.index, unitFor(lun.storage_object));
  const units = [...new Set(tpgLuns.values())];
  const aclFor = (initiator: string): NodeAclConfig | undefined => tpg.node_acls.find((a) => sameName(a.node_wwn, initiator));
  const tpgCredentials = credentials(tpg);

  const demoMappings: LunMapping[] = [...tpgLuns.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([lun, unit]) => ({ lun, unit, writeProtect: demoWriteProtect }));

  const viewOf = (mappings: LunMapping[]): LunView => {
    const byLun = new Map(mappings.map((m) => [m.lun, m]));
    return { list: () => mappings, get: (lun) => byLun.get(lun) };
  };

  const loginTarget: LoginTarget = {
    name: target.wwn,
    alias: tpg.parameters?.TargetAlias || undefined,
    portalGroupTag: tpg.tag,
    authenticationRequired: authentication,
    authorize(initiatorName: string) {
      const acl = aclFor(initiatorName);
      if (acl) return { allowed: true, credentials: credentials(acl) };
      if (generateNodeAcls) return { allowed: true, credentials: tpgCredentials };
      return { allowed: false };
    },
    parameters: tpg.parameters ?? {},
  };

  return {
    targetName: target.wwn,
    tag: tpg.tag,
    portals: tpg.portals.map((p) => ({ ip: bareAddress(p.ip_address), port: p.port })),
    loginTarget,
    units,
    allows: (initiator) => aclFor(initiator) !== undefined || generateNodeAcls,
    lunView(initiator) {
      const acl = aclFor(initiator);
      if (!acl) return viewOf(generateNodeAcls ? demoMappings : []);
      const mappings: LunMapping[] = [];
      for (const m of [...acl.mapped_luns].sort((a, b) => a.index - b.index)) {
        const unit = tpgLuns.get(m.tpg_lun);
        if (unit) mappings.push({ lun: m.index, unit, writeProtect: m.write_protect });
      }
      return viewOf(mappings);
    },
  };
}
