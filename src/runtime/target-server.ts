// The composition root of a running target: config → storage objects →
// logical units → TPGs → listening portals → connections. Nothing listens and
// nothing stays open unless the whole config came up.

import { createServer, type Server, type Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import type { SaveConfig, StorageObjectConfig, TpgConfig } from '../config/model.js';
import { tsgtSettings } from '../config/model.js';
import { validateConfig } from '../config/validate.js';
import type { ConfigError } from '../config/check.js';
import { openStorageObject } from '../backstore/open.js';
import { storageProvisioning } from '../config/resolve.js';
import { storageEncrypted, storagePhysicalBlockSize, storageRemovable, storageSanitizeBytesPerSecond } from '../config/medium.js';
import { keyFilePath } from '../backstore/key-store.js';
import type { BlockDevice } from '../backstore/types.js';
import { blocksPerPhysicalBlock, createLogicalUnit } from '../scsi/logical-unit.js';
import { blockDevicePhysicalBlockSize, loadNativeBlockIo } from '../native/blockio.js';
import { openNexus } from '../scsi/nexus.js';
import type { AluaOptions, LogicalUnit, Nexus } from '../scsi/api.js';
import { IscsiConnection, type ConnectionHooks, type SessionBinding } from '../iscsi/connection.js';
import type { ChapCredentials, LoginOutcome, LoginTarget } from '../iscsi/login/index.js';
import type { SendTargetsEntry } from '../iscsi/text/index.js';
import { TcpWire } from './tcp-wire.js';
import { SegmentPool } from './segment-pool.js';
import { BusyPoll } from './busy-poll.js';
import { filePrStore } from './pr-store.js';
import { storageObjectAlua } from '../config/alua.js';
import { fileAluaStore } from '../config/alua-store.js';
import { isAbsolute, join, resolve } from 'node:path';
import { buildTpgRuntime, type TpgRuntime } from './tpg-runtime.js';
import { formatTargetAddress, isWildcard, planListeners, portalMatches, unmapAddress, type ListenSpec } from './portals.js';
import { SessionRegistry, sessionKey, type SessionRecord } from './session-registry.js';
import { silentLogger, type Logger } from './logger.js';

const MAX_CONNECTIONS_PER_PORTAL = 4096;
const SHUTDOWN_GRACE_MS = 5000;

export interface StartOptions {
  logger?: Logger;
  /** Directory that relative `dev` paths resolve against. */
  baseDir?: string;
  /**
   * Where persistent-reservation state with APTPL=1 is kept (one file per LU).
   * Without it, PTPL_C is 0 and APTPL=1 is refused.
   * Also holds the keys of encrypted storage objects (keys/<wwn>.key); a
   * config with attributes.encryption=1 needs it.
   */
  stateDir?: string;
}

export interface SessionInfo {
  tsih: number;
  type: 'Normal' | 'Discovery';
  initiatorName: string;
  isid: string;
  targetName: string | undefined;
  tpgt: number;
  peer: string;
  started: Date;
  stats: IscsiConnection['stats'];
}

export interface TargetServer {
  /** Addresses actually listening (port 0 in a portal resolves to the bound port). */
  readonly listening: readonly { host: string; port: number }[];
  sessions(): SessionInfo[];
  /** Stop listening, end every session, close every storage object. */
  close(): Promise<void>;
}

/** Raised by startTarget for an invalid config or a resource that could not be opened; nothing is left running. */
export class TargetStartError extends Error {
  readonly code = 'TSGT_ERR_START';
  constructor(
    message: string,
    readonly errors: readonly ConfigError[],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TargetStartError';
  }
}

function describe(errors: readonly ConfigError[]): string {
  return errors.map((e) => `${e.path || '(root)'}: ${e.message} [${e.rule}]`).join('\n');
}

export async function startTarget(input: SaveConfig | unknown, options: StartOptions = {}): Promise<TargetServer> {
  const log = options.logger ?? silentLogger;
  const checked = validateConfig(input);
  if (!checked.ok) throw new TargetStartError(`invalid configuration:\n${describe(checked.errors)}`, checked.errors);
  const config = checked.config;
  const settings = tsgtSettings(config);
  // attributes.encryption keeps each LU's key under the state directory: refuse before anything is opened.
  const keyless = options.stateDir
    ? []
    : config.storage_objects.flatMap((so, i) =>
        storageEncrypted(so)
          ? [{ path: `storage_objects[${i}].attributes.encryption`, rule: 'encryption-needs-state-dir', message: `encryption=1 needs a state directory (--state-dir) to keep the key of storage object '${so.name}' in` }]
          : [],
      );
  if (keyless.length > 0) throw new TargetStartError(`invalid configuration:\n${describe(keyless)}`, keyless);

  // Storage objects → logical units. Close what was opened if anything fails.
  const devices: BlockDevice[] = [];
  const units = new Map<string, LogicalUnit>();
  const closeDevices = async () => {
    await Promise.allSettled(devices.map((d) => d.close()));
  };
  for (const [i, so] of config.storage_objects.entries()) {
    let device: BlockDevice;
    try {
      device = await openStorageObject(so, {
        baseDir: options.baseDir,
        onWarning: (m) => log.warn({ storage_object: so.name }, m),
        keyFile: storageEncrypted(so) && options.stateDir ? keyFilePath(options.stateDir, so.wwn ?? stableWwn(so.plugin, so.name)) : undefined,
      });
    } catch (err) {
      await closeDevices();
      const path = `storage_objects[${i}]`;
      const e = { path, rule: 'open-failed', message: `cannot open ${so.plugin} storage object '${so.name}': ${(err as Error).message}` };
      throw new TargetStartError(describe([e]), [e], { cause: err });
    }
    devices.push(device);
    const physicalBlockSize = storagePhysicalBlockSize(so) ?? (await devicePhysicalBlockSize(so, device, options.baseDir));
    if (physicalBlockSize !== undefined && blocksPerPhysicalBlock(device.blockSize, physicalBlockSize) === undefined) {
      // Validation checked it against block_size; a block device without that attribute has its own.
      await closeDevices();
      const e = { path: `storage_objects[${i}].attributes.physical_block_size`, rule: 'physical-block-size', message: `physical_block_size=${physicalBlockSize} is not a power-of-two multiple (at most 2^15) of the device's block size ${device.blockSize}` };
      throw new TargetStartError(describe([e]), [e]);
    }
    units.set(
      `/backstores/${so.plugin}/${so.name}`,
      createLogicalUnit({
        device,
        name: so.name,
        wwn: so.wwn ?? stableWwn(so.plugin, so.name),
        vendor: settings.vendor,
        product: settings.product,
        revision: settings.revision,
        readOnly: so.plugin === 'block' ? so.readonly === true : false,
        provisioning: storageProvisioning(so),
        removable: storageRemovable(so),
        sanitizeBytesPerSecond: storageSanitizeBytesPerSecond(so),
        alua: aluaOptions(config, so, options.stateDir, (m) => log.warn({ storage_object: so.name }, m)),
        physicalBlockSize,
        prStore: options.stateDir
          ? filePrStore(join(options.stateDir, 'pr'), so.wwn ?? stableWwn(so.plugin, so.name), (m) => log.warn({ storage_object: so.name }, m))
          : undefined,
      }),
    );
  }
  const unitFor = (path: string): LogicalUnit => {
    const p = path.replace('/backstores/rd_mcp/', '/backstores/ramdisk/');
    const u = units.get(p);
    if (!u) throw new Error(`no storage object ${path}`);
    return u;
  };

  // Enabled TPGs.
  const tpgs: TpgRuntime[] = [];
  const tpgConfigs = new Map<TpgRuntime, TpgConfig>();
  for (const target of config.targets) {
    for (const tpg of target.tpgs) {
      if (!tpg.enable) continue;
      const rt = buildTpgRuntime(target, tpg, unitFor);
      tpgs.push(rt);
      tpgConfigs.set(rt, tpg);
    }
  }
  const targetUnits = new Map<string, LogicalUnit[]>();
  for (const rt of tpgs) {
    const list = targetUnits.get(rt.targetName) ?? [];
    for (const u of rt.units) if (!list.includes(u)) list.push(u);
    targetUnits.set(rt.targetName, list);
  }

  // Discovery authentication (fabric_modules: iscsi).
  const fabric = config.fabric_modules.find((f) => f.name === 'iscsi');
  let discoveryCredentials: ChapCredentials | undefined;
  if (fabric?.discovery_userid && fabric.discovery_password) {
    discoveryCredentials = { userid: fabric.discovery_userid, password: fabric.discovery_password };
    if (fabric.discovery_mutual_userid && fabric.discovery_mutual_password) {
      discoveryCredentials.mutualUserid = fabric.discovery_mutual_userid;
      discoveryCredentials.mutualPassword = fabric.discovery_mutual_password;
    }
  }
  const discoveryAuth = { required: fabric?.discovery_enable_auth === true, credentials: discoveryCredentials };

  const registry = new SessionRegistry();
  // Large received data segments are reused across every connection of this target.
  const segments = new SegmentPool();
  // Data-In straight from tmpfs-backed files (FileExtent) when the addon offers sendfile.
  const sendFile = loadNativeBlockIo().io?.sendFile;
  // Unset busy_poll: poll only where a second CPU is left for the initiator and everything else.
  const busyPoll = new BusyPoll(config.tsgt?.busy_poll === undefined && availableParallelism() < 2 ? 0 : settings.busy_poll);
  const connections = new Set<IscsiConnection>();
  let connectionSeq = 0;

  const tpgsOnPortal = (localAddress: string, localPort: number) =>
    tpgs.filter((t) => t.portals.some((p) => portalMatches(p, localAddress, localPort)));

  const sendTargetsFor = (
    initiatorName: string,
    localAddress: string,
    query: string,
    current: string | undefined,
  ): SendTargetsEntry[] => {
    const names: string[] = [];
    for (const t of tpgs) if (!names.includes(t.targetName)) names.push(t.targetName);
    const wanted = names.filter((n) => {
      if (query === 'All') return current === undefined || n === current;
      if (query === '') return n === current;
      return n.toLowerCase() === query.toLowerCase();
    });
    const out: SendTargetsEntry[] = [];
    for (const name of wanted) {
      const own = tpgs.filter((t) => t.targetName === name);
      if (!own.some((t) => t.allows(initiatorName))) continue;
      const addresses: string[] = [];
      for (const t of own) {
        for (const p of t.portals) {
          // A wildcard portal is reported with the address this initiator reached us on.
          const ip = isWildcard(p.ip) ? unmapAddress(localAddress) : p.ip;
          const a = formatTargetAddress(ip, p.port, t.tag);
          if (!addresses.includes(a)) addresses.push(a);
        }
      }
      out.push({ name, addresses });
    }
    return out;
  };

  const handleSocket = (accepted: Socket) => {
    const localAddress = accepted.localAddress ?? '';
    const localPort = accepted.localPort ?? 0;
    const peer = `${accepted.remoteAddress}:${accepted.remotePort}`;
    const here = tpgsOnPortal(localAddress, localPort);
    if (here.length === 0) {
      accepted.destroy();
      return;
    }
    const id = `c${++connectionSeq}`;
    const records = new Map<IscsiConnection, SessionRecord>();
    const hooks: ConnectionHooks = {
      login: {
        portalGroupTag: here[0].tag,
        findTarget(name: string): LoginTarget | undefined {
          const t = here.find((x) => x.targetName.toLowerCase() === name.toLowerCase());
          return t?.loginTarget;
        },
        discoveryAuth,
        discoveryParameters: {},
        randomBytes: (n: number) => randomBytes(n),
      },
      admit(outcome: LoginOutcome, connection: IscsiConnection) {
        const tpgt = outcome.target?.portalGroupTag ?? 0;
        const key = sessionKey(outcome.initiatorName, outcome.isid, outcome.target?.name, tpgt);
        if (outcome.tsih !== 0) {
          // Adding a connection to a session (MaxConnections=1) or ERL 2 recovery: not supported.
          // RFC 7143 §11.13.5: 02/0A session does not exist / 02/06 too many connections.
          const existing = registry.find(key);
          return existing && existing.tsih === outcome.tsih
            ? { ok: false, statusClass: 2, statusDetail: 0x06 }
            : { ok: false, statusClass: 2, statusDetail: 0x0a };
        }
        const old = registry.find(key);
        if (old) {
          log.info({ conn: connection.id, tsih: old.tsih, initiator: outcome.initiatorName }, 'reinstating session');
          old.connection.close();
          registry.remove(old);
        }
        const tsih = registry.allocateTsih();
        if (tsih === undefined) return { ok: false, statusClass: 3, statusDetail: 0x02 };
        const record: SessionRecord = {
          tsih,
          key,
          initiatorName: outcome.initiatorName,
          isid: outcome.isid.toString('hex'),
          targetName: outcome.target?.name,
          tpgt,
          type: outcome.sessionType,
          connection,
          started: new Date(),
        };
        registry.add(record);
        records.set(connection, record);
        return { ok: true, tsih };
      },
      bind(outcome: LoginOutcome, tsih: number, connection: IscsiConnection): SessionBinding {
        const record = records.get(connection);
        let nexus: SessionBinding['nexus'];
        if (outcome.sessionType === 'Normal' && outcome.target) {
          const target = outcome.target;
          const rt = here.find((t) => t.loginTarget === target)!;
          const isid = outcome.isid.toString('hex');
          const n: Nexus = {
            id: `${id}:${tsih}`,
            initiatorName: outcome.initiatorName,
            initiatorPortName: `${outcome.initiatorName},i,0x${isid}`,
            targetName: target.name,
            targetPortName: `${target.name},t,0x${target.portalGroupTag.toString(16).padStart(4, '0')}`,
            relativeTargetPortId: target.portalGroupTag,
            targetPortGroupId: target.portalGroupTag,
          };
          nexus = openNexus(n, rt.lunView(outcome.initiatorName), {
            units: () => targetUnits.get(target.name) ?? [],
            // ALUA: one target port group per TPG that exports the LU, the same answer through every port.
            targetPortGroups: (unit) =>
              tpgs
                .filter((t) => t.targetName === target.name && t.units.includes(unit))
                .map((t) => ({ id: t.tag, relativePortIds: [t.tag] })),
          });
        }
        const current = outcome.target?.name;
        return {
          tsih,
          nexus,
          sendTargets: (query: string) => sendTargetsFor(outcome.initiatorName, localAddress, query, current),
          release() {
            nexus?.close();
            if (record) registry.remove(record);
          },
        };
      },
      coldReset() {
        // RFC 7143 §11.5.1: TARGET COLD RESET ends every session of the target.
        for (const c of [...connections]) c.close();
      },
    };
    let conn: IscsiConnection | undefined;
    const wire = TcpWire.accept(
      accepted,
      (frame) => conn?.receive(frame),
      (reason) => conn?.fail(reason),
      { pool: segments, busyPoll, sendFile },
    );
    const socket = wire.socket;
    conn = new IscsiConnection(
      id,
      wire,
      hooks,
      {
        queueDepth: settings.queue_depth,
        nopInInterval: settings.nop_in_interval,
        nopInTimeout: settings.nop_in_timeout,
        loginTimeout: 15,
        dataOutTimeout: settings.dataout_timeout,
      },
      log,
    );
    connections.add(conn);
    log.debug({ conn: id, peer, local: `${localAddress}:${localPort}` }, 'connection accepted');
    const c = conn;
    socket.on('error', (err) => log.debug({ conn: id, err: err.message }, 'socket error'));
    socket.on('close', () => {
      c.close();
      connections.delete(c);
      log.debug({ conn: id, reason: c.closeReason || 'peer closed' }, 'connection closed');
    });
  };

  // Listen on every planned address; undo everything if one fails.
  const allPortals: { ip: string; port: number; path: string }[] = [];
  config.targets.forEach((t, ti) =>
    t.tpgs.forEach((g, gi) => {
      if (!g.enable) return;
      g.portals.forEach((p, pi) => allPortals.push({ ip: p.ip_address, port: p.port, path: `targets[${ti}].tpgs[${gi}].portals[${pi}]` }));
    }),
  );
  const servers: Server[] = [];
  const listening: { host: string; port: number }[] = [];
  for (const spec of planListeners(allPortals)) {
    const server = createServer({ noDelay: true, pauseOnConnect: true }, handleSocket);
    // Each connection costs memory before it authenticates; cap them per listener.
    server.maxConnections = MAX_CONNECTIONS_PER_PORTAL;
    try {
      await listen(server, spec);
    } catch (err) {
      await Promise.allSettled(servers.map((s) => new Promise((r) => s.close(r))));
      await closeDevices();
      const where = allPortals.find((p) => p.port === spec.port)?.path ?? 'portals';
      const e = {
        path: where,
        rule: 'listen-failed',
        message: `cannot listen on ${spec.host}:${spec.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      };
      throw new TargetStartError(describe([e]), [e], { cause: err });
    }
    servers.push(server);
    const addr = server.address();
    if (addr && typeof addr === 'object') listening.push({ host: addr.address, port: addr.port });
  }
  log.info({ portals: listening.map((l) => `${l.host}:${l.port}`), targets: config.targets.length }, 'target ready');

  let closed = false;
  return {
    listening,
    sessions: () =>
      registry.list().map((r) => ({
        tsih: r.tsih,
        type: r.type,
        initiatorName: r.initiatorName,
        isid: r.isid,
        targetName: r.targetName,
        tpgt: r.tpgt,
        peer: r.connection.id,
        started: r.started,
        stats: { ...r.connection.stats },
      })),
    async close() {
      if (closed) return;
      closed = true;
      const stopped = Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      // In-flight commands finish (bounded), then sessions end; only then are files closed.
      await Promise.all([...connections].map((c) => c.shutdown(SHUTDOWN_GRACE_MS)));
      connections.clear();
      await stopped;
      await closeDevices();
      log.info({}, 'target stopped');
    },
  };
}

function listen(server: Server, spec: ListenSpec): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ host: spec.host, port: spec.port, ipv6Only: spec.ipv6Only, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Configured ALUA groups of a storage object (config/alua.ts), with a metadata store when a group asks for one and there is a state dir. */
function aluaOptions(config: SaveConfig, so: StorageObjectConfig, stateDir: string | undefined, warn: (m: string) => void): AluaOptions | undefined {
  const resolved = storageObjectAlua(config, so);
  if (resolved === undefined) return undefined;
  const persistent = resolved.groups.some((g) => g.persistent);
  if (persistent && stateDir === undefined) warn('alua_write_metadata=1 but no state directory: explicit ALUA states will not survive a restart');
  const store = persistent && stateDir !== undefined ? fileAluaStore(join(stateDir, 'alua'), so.wwn ?? stableWwn(so.plugin, so.name), warn) : undefined;
  return { ...resolved, store };
}

/**
 * rtslib always writes a wwn; for a hand-written config without one, derive a
 * UUID-shaped value from plugin and name so the unit serial and NAA identifier
 * stay the same across restarts (initiators key multipath maps on them).
 */
/**
 * Without attributes.physical_block_size, a block storage object presents its
 * device's physical sector size when the addon can tell and it is a
 * power-of-two multiple of the LU's block size (else one block per physical block).
 */
async function devicePhysicalBlockSize(so: SaveConfig['storage_objects'][number], device: BlockDevice, baseDir?: string): Promise<number | undefined> {
  if (so.plugin !== 'block') return undefined;
  const size = await blockDevicePhysicalBlockSize(isAbsolute(so.dev) || !baseDir ? so.dev : resolve(baseDir, so.dev));
  return size !== undefined && blocksPerPhysicalBlock(device.blockSize, size) !== undefined ? size : undefined;
}

export function stableWwn(plugin: string, name: string): string {
  const h = createHash('sha256').update(`tsgt:${plugin}:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
