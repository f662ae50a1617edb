// Loading and atomically saving saveconfig.json.
//
// Saving follows rtslib's RTSRoot.save_to_file(): write "<path>.temp",
// created exclusively with mode 0600 (the file holds CHAP secrets), as JSON
// with sorted keys and 2-space indent plus a final newline, fsync it, rename
// it over the target. tsgt also fsyncs the directory so the rename itself
// survives a crash. Callers serialise saves to one path (the temp name is fixed).

import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-file.js';
import type { SaveConfig } from './model.js';
import type { ConfigError } from './check.js';
import { validateConfig, type ValidateResult } from './validate.js';

export type LoadResult = ValidateResult;

/**
 * Read and validate a config file. Never throws: a missing file gives rule
 * 'not-found', other read failures 'read-error', bad JSON 'json-parse'
 * (all with path '').
 */
export async function loadConfigFile(path: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const rule = err.code === 'ENOENT' ? 'not-found' : 'read-error';
    return { ok: false, errors: [{ path: '', rule, message: `cannot read ${path}: ${err.message}` }] };
  }
  return parseConfigText(text, path);
}

/** Parse and validate config text (`source` names it in messages). */
export function parseConfigText(text: string, source = 'config'): LoadResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, errors: [{ path: '', rule: 'json-parse', message: `${source} is not valid JSON: ${(e as Error).message}` }] };
  }
  return validateConfig(json);
}

/** Thrown by saveConfigFile when asked to save a config that would not load back. */
export class ConfigValidationError extends Error {
  readonly code = 'TSGT_ERR_CONFIG_INVALID';
  constructor(readonly errors: ConfigError[]) {
    super(`invalid configuration: ${errors.map((e) => e.message).join('; ')}`);
    this.name = 'ConfigValidationError';
  }
}

/**
 * rtslib's byte format: Python json.dump(sort_keys=True, indent=2) + "\n".
 * Python escapes non-ASCII (ensure_ascii) — done here too so files diff cleanly.
 */
export function serializeConfig(config: SaveConfig): string {
  const json = JSON.stringify(sortKeys(config), null, 2);
  return json.replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    // Python sorts by code point; JS default sort compares UTF-16 units, identical for BMP keys.
    for (const k of Object.keys(v).sort()) {
      const val = (v as Record<string, unknown>)[k];
      if (val !== undefined) out[k] = sortKeys(val);
    }
    return out;
  }
  return v;
}

/** Validate, then atomically replace `path`. Rejects with ConfigValidationError or the fs error. */
export async function saveConfigFile(path: string, config: SaveConfig): Promise<void> {
  const checked = validateConfig(config);
  if (!checked.ok) throw new ConfigValidationError(checked.errors);
  // The normalised form (aliases resolved, TPG tags assigned) is what gets written.
  const text = serializeConfig(checked.config);
  // rtslib's temp name, so a leftover is recognisable next to the file.
  await writeFileAtomic(path, text, { tempPath: `${path}.temp` });
}
