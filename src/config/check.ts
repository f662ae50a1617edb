// Small typed readers for validating untrusted JSON. Every failed check adds
// one ConfigError and returns undefined, so a caller collects all errors in
// one pass and never throws.

export interface ConfigError {
  /** JSON path, e.g. "targets[0].tpgs[0].luns[2].storage_object"; '' for the whole document. */
  path: string;
  /** Short stable code, e.g. 'iqn-format'. */
  rule: string;
  message: string;
}

export interface Checker {
  readonly errors: ConfigError[];
}

export type JsonObject = Record<string, unknown>;

export function newChecker(): Checker {
  return { errors: [] };
}

export function fail(c: Checker, path: string, rule: string, message: string): undefined {
  c.errors.push({ path, rule, message: path ? `${path}: ${message}` : message });
  return undefined;
}

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asObject(c: Checker, path: string, v: unknown): JsonObject | undefined {
  if (isObject(v)) return v;
  return fail(c, path, 'type', `must be an object, not ${typeName(v)}`);
}

/** A list; a missing list reads as [] (rtslib's restore uses .get(key, [])). */
export function asList(c: Checker, path: string, v: unknown): unknown[] | undefined {
  if (v === undefined) return [];
  if (Array.isArray(v)) return v;
  return fail(c, path, 'type', `must be an array, not ${typeName(v)}`);
}

/** Refuse keys we do not know: something tsgt would silently ignore is an error. */
export function onlyKeys(c: Checker, path: string, o: JsonObject, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) fail(c, join(path, k), 'unknown-key', `unknown or unsupported key '${k}'`);
  }
}

export function requireString(c: Checker, path: string, v: unknown): string | undefined {
  if (v === undefined) return fail(c, path, 'required', 'is required');
  if (typeof v !== 'string') return fail(c, path, 'type', `must be a string, not ${typeName(v)}`);
  if (v.length === 0) return fail(c, path, 'required', 'must not be empty');
  return v;
}

/** Optional string; '' counts as absent (rtslib only dumps truthy auth values). */
export function optString(c: Checker, path: string, v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') return fail(c, path, 'type', `must be a string, not ${typeName(v)}`);
  return v;
}

/** Optional string that may be null (rtslib writes null aliases). */
export function optNullableString(c: Checker, path: string, v: unknown): string | null | undefined {
  if (v === null) return null;
  if (v === undefined) return undefined;
  if (typeof v !== 'string') return fail(c, path, 'type', `must be a string or null, not ${typeName(v)}`);
  return v;
}

export function requireInt(
  c: Checker,
  path: string,
  v: unknown,
  min: number,
  max: number,
): number | undefined {
  if (v === undefined) return fail(c, path, 'required', 'is required');
  return optInt(c, path, v, min, max);
}

export function optInt(c: Checker, path: string, v: unknown, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number') return fail(c, path, 'type', `must be a number, not ${typeName(v)}`);
  if (!Number.isSafeInteger(v)) return fail(c, path, 'type', `must be an integer, not ${v}`);
  if (v < min || v > max) return fail(c, path, 'range', `${v} is out of range ${min}..${max}`);
  return v;
}

/** Boolean; rtslib versions wrote 1/0 for some flags, so those are accepted too. */
export function optBool(c: Checker, path: string, v: unknown): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  return fail(c, path, 'type', `must be true or false (or 1/0), not ${JSON.stringify(v)}`);
}

/** Drop keys whose value is undefined (so saved JSON and deep equality match). */
export function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** The objects of a list, each with its path; non-objects are reported. */
export function list(c: Checker, path: string, v: unknown): { path: string; value: JsonObject }[] {
  const items = asList(c, path, v) ?? [];
  const out: { path: string; value: JsonObject }[] = [];
  items.forEach((item, i) => {
    const p = join(path, i);
    const o = asObject(c, p, item);
    if (o) out.push({ path: p, value: o });
  });
  return out;
}
