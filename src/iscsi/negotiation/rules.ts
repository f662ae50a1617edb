// Pure per-key rules of the negotiation engine (RFC 7143 §6.2): where a key
// may appear, our configured value for it, and whether a peer's answer to our
// offer is admissible.

import type { KeyDefinition } from './keys.js';
import { RESPONSE_CONSTANTS } from './keys.js';
import { formatBoolean, inRange, parseBoolean, parseList, parseNumber } from './values.js';
import type { NegotiationError, NegotiationRole, NegotiationStage } from './negotiate.js';

type Local = Readonly<Record<string, string>>;

export function stageAllows(def: KeyDefinition, stage: NegotiationStage): boolean {
  switch (stage) {
    case 'security':
      return def.phase === 'security' || def.phase === 'both';
    case 'operational':
      return def.phase === 'operational' || def.phase === 'both';
    case 'full-feature':
      return def.fullFeature;
  }
}

/** Whether the peer of `role` may send this key. */
export function senderAllows(def: KeyDefinition, role: NegotiationRole): boolean {
  if (def.sender === 'both') return true;
  return role === 'target' ? def.sender === 'initiator' : def.sender === 'target';
}

/** Our configured list, restricted to values we implement; invalid config falls back to the default. */
export function localList(def: KeyDefinition, local: Local): string[] {
  const raw = local[def.name];
  const understood = def.values;
  const list = raw === undefined ? [] : parseList(raw).filter((v) => !understood || understood.includes(v));
  if (list.length > 0) return list;
  return def.defaultValue !== undefined ? [def.defaultValue] : [];
}

export function localNumber(def: KeyDefinition, local: Local): number {
  const n = parseNumber(local[def.name] ?? '');
  if (n !== undefined && inRange(n, def.range)) return n;
  return parseNumber(def.defaultValue ?? '') ?? 0;
}

export function localBoolean(def: KeyDefinition, local: Local): boolean {
  return parseBoolean(local[def.name] ?? '') ?? def.defaultValue === 'Yes';
}

/** The value we offer for a key. */
export function localValue(def: KeyDefinition, local: Local): string {
  switch (def.kind) {
    case 'list':
      return localList(def, local).join(',');
    case 'min':
    case 'max':
      return String(localNumber(def, local));
    case 'and':
    case 'or':
      return formatBoolean(localBoolean(def, local));
    default:
      return local[def.name] ?? def.defaultValue ?? '';
  }
}

/** Would negotiating our configured value change the RFC default the key has when left alone? */
export function wouldChangeDefault(def: KeyDefinition, local: Local): boolean {
  const dflt = def.defaultValue;
  if (dflt === undefined) return false;
  switch (def.kind) {
    case 'list':
      return !localList(def, local).includes(dflt);
    case 'min':
      return localNumber(def, local) < (parseNumber(dflt) ?? 0);
    case 'max':
      return localNumber(def, local) > (parseNumber(dflt) ?? 0);
    case 'and':
      return !localBoolean(def, local) && dflt === 'Yes';
    case 'or':
      return localBoolean(def, local) && dflt === 'No';
    default:
      return false;
  }
}

/**
 * Originator side: is the peer's answer to our offer admissible (RFC 7143
 * §6.2.1: a list answer must be one of the offered values; §6.2.2: numeric and
 * Boolean answers must follow the key's result function)?
 */
export function checkAnswer(def: KeyDefinition, offered: string, value: string): NegotiationError | undefined {
  const bad = (why: string): NegotiationError => ({ code: 'invalid-response', key: def.name, message: `${def.name}=${value}: ${why}` });
  if (RESPONSE_CONSTANTS.has(value)) {
    // The key keeps its default; for lists our configuration may forbid it.
    if (def.kind === 'list' && def.defaultValue !== undefined && !parseList(offered).includes(def.defaultValue)) {
      return { code: 'unacceptable', key: def.name, message: `${def.name} answered ${value}; default ${def.defaultValue} not acceptable` };
    }
    return undefined;
  }
  switch (def.kind) {
    case 'list':
      return parseList(offered).includes(value) ? undefined : bad('value was not offered');
    case 'min':
    case 'max': {
      const n = parseNumber(value);
      const ours = parseNumber(offered) ?? 0;
      if (n === undefined || !inRange(n, def.range)) return bad('not a number in range');
      if (def.kind === 'min' ? n > ours : n < ours) return bad(`not admissible against offered ${offered}`);
      return undefined;
    }
    case 'and':
    case 'or': {
      const b = parseBoolean(value);
      if (b === undefined) return bad('not Yes or No');
      const ours = offered === 'Yes';
      if (def.kind === 'and' && !ours && b) return bad('AND with No must be No');
      if (def.kind === 'or' && ours && !b) return bad('OR with Yes must be Yes');
      return undefined;
    }
    default:
      return bad('not an answerable key');
  }
}
