#!/usr/bin/env node
// tsgt command line. `tsgt serve` runs the target from a saveconfig.json.

import { parseArgs } from 'node:util';
import { homedir, hostname } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { existsSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino, destination, stdTimeFunctions } from 'pino';
import { loadConfigFile, saveConfigFile } from '../config/store.js';
import { defaultConfig } from '../config/defaults.js';
import { tsgtSettings, type SaveConfig } from '../config/model.js';
import { startTarget, TargetStartError } from '../runtime/target-server.js';
import { bareAddress, isWildcard } from '../runtime/portals.js';
import type { Logger } from '../runtime/logger.js';

const USAGE = `Usage: tsgt <command> [options]

Commands:
  serve [--config FILE]   Serve the targets of a targetcli-style saveconfig.json.
                          Without --config: $TSGT_HOME/saveconfig.json (default ~/.tsgt),
                          written with an embedded default on first run.
  version                 Print the version.
  help                    This text.

Options for serve:
  -c, --config FILE       Configuration file (saveconfig.json format).
      --log-level LEVEL   error | warn | info | debug (default: config tsgt.log_level or info).
      --state-dir DIR     Runtime state such as APTPL persistent reservations
                          (default: $TSGT_HOME/state).
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command === 'version' || command === '--version') {
    process.stdout.write('tsgt 0.1.0\n');
    return 0;
  }
  if (command !== 'serve') {
    process.stderr.write(`tsgt: unknown command '${command}'\n\n${USAGE}`);
    return 2;
  }
  let args;
  try {
    args = parseArgs({
      args: rest,
      options: { config: { type: 'string', short: 'c' }, 'log-level': { type: 'string' }, 'state-dir': { type: 'string' } },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    process.stderr.write(`tsgt serve: ${(err as Error).message}\n`);
    return 2;
  }
  return serve(args.values.config, args.values['log-level'], args.values['state-dir']);
}

async function serve(configPath: string | undefined, logLevel: string | undefined, stateDirOption: string | undefined): Promise<number> {
  let path: string;
  let firstRun = false;
  const home = resolve(process.env.TSGT_HOME || join(homedir(), '.tsgt'));
  const stateDir = resolve(stateDirOption ?? join(home, 'state'));
  if (configPath) {
    path = resolve(configPath);
  } else {
    path = join(home, 'saveconfig.json');
    if (!existsSync(path)) {
      await saveConfigFile(path, defaultConfig(home, hostname()));
      firstRun = true;
    }
  }
  const loaded = await loadConfigFile(path);
  if (!loaded.ok) {
    process.stderr.write(`tsgt: ${path} is not a valid configuration:\n`);
    for (const e of loaded.errors) process.stderr.write(`  ${e.path || '(root)'}: ${e.message} [${e.rule}]\n`);
    return 1;
  }
  const config = loaded.config;
  const level = logLevel ?? tsgtSettings(config).log_level;
  const logger = pino({ level, base: undefined, timestamp: stdTimeFunctions.isoTime }, destination(2)) as unknown as Logger;
  // Signals are handled from before the target starts, so none can arrive unhandled.
  let server: Awaited<ReturnType<typeof startTarget>> | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await server?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  try {
    server = await startTarget(config, { logger, baseDir: dirname(path), stateDir });
  } catch (err) {
    if (err instanceof TargetStartError) {
      process.stderr.write(`tsgt: cannot start:\n  ${err.message.replace(/\n/g, '\n  ')}\n`);
      return 1;
    }
    throw err;
  }
  if (stopping) {
    await server.close();
    return 0;
  }
  if (firstRun) process.stdout.write(`Wrote the default configuration to ${path}\n`);
  process.stdout.write(banner(config, path));
  return new Promise<number>(() => {});
}

function banner(config: SaveConfig, path: string): string {
  const lines = [`tsgt serving ${path}`];
  for (const t of config.targets) {
    for (const tpg of t.tpgs) {
      if (!tpg.enable) continue;
      for (const p of tpg.portals) {
        const ip = isWildcard(p.ip_address) ? '127.0.0.1' : bareAddress(p.ip_address);
        const host = ip.includes(':') ? `[${ip}]` : ip;
        lines.push('');
        lines.push(`  target ${t.wwn} (TPG ${tpg.tag}) on ${bareAddress(p.ip_address)}:${p.port}`);
        lines.push(`    iscsiadm -m discovery -t sendtargets -p ${host}:${p.port}`);
        lines.push(`    iscsiadm -m node -T ${t.wwn} -p ${host}:${p.port} --login`);
        for (const lun of tpg.luns) lines.push(`    iscsi://${host}:${p.port}/${t.wwn}/${lun.index}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

const entry = process.argv[1];
if (entry !== undefined && existsSync(entry) && realpathSync(entry) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code !== undefined) process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`tsgt: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
