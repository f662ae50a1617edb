// iSCSI node names (RFC 3720 §3.2.6, RFC 3722 stringprep profile, RFC 3980 naa.).
//
// Names are compared after stringprep, so a stored name must already be in
// normalised form: lower-case, no spaces or underscores. rtslib lower-cases
// names on input, so every saveconfig.json it writes passes these checks.
//
// The validators return undefined when the name is fine, else the reason.

/** RFC 3720 §3.2.6.1: an iSCSI name is at most 223 bytes (UTF-8). */
export const MAX_NAME_BYTES = 223;

export interface NameProblem {
  /** Stable code: 'name-length' | 'iqn-format' | 'eui-format' | 'naa-format' | 'name-format'. */
  rule: string;
  reason: string;
}

const IQN_DATE = /^iqn\.(\d{4})-(\d{2})\.(.*)$/su;
const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/**
 * Characters allowed after stringprep in the unique part: RFC 3722 §6 leaves
 * ASCII '-', '.', ':' as the only punctuation, and case folding leaves no
 * upper-case letters. Non-ASCII letters are allowed if already normalised.
 */
function badCharacter(s: string): string | undefined {
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) {
      if (/[a-z0-9.:-]/.test(ch)) continue;
      if (/[A-Z]/.test(ch)) return `upper-case '${ch}' (iSCSI names are lower-case after stringprep)`;
      if (ch === ' ') return 'a space';
      return `the character ${JSON.stringify(ch)}`;
    }
    // RFC 3722 prohibits controls, spaces and symbols; require a letter/number in NFKC lower-case form.
    if (!/[\p{L}\p{N}\p{M}]/u.test(ch)) return `the character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    if (ch.normalize('NFKC').toLowerCase() !== ch) return `the non-normalised character ${JSON.stringify(ch)}`;
  }
  return undefined;
}

function lengthProblem(s: string): NameProblem | undefined {
  const bytes = Buffer.byteLength(s, 'utf8');
  if (bytes > MAX_NAME_BYTES) {
    return { rule: 'name-length', reason: `is ${bytes} bytes long; iSCSI names are at most ${MAX_NAME_BYTES} bytes (RFC 3720 §3.2.6.1)` };
  }
  return undefined;
}

/** RFC 3720 §3.2.6.3.1: iqn.yyyy-mm.reversed.domain[:unique]. */
export function iqnProblem(s: string): NameProblem | undefined {
  const fail = (reason: string): NameProblem => ({ rule: 'iqn-format', reason });
  const len = lengthProblem(s);
  if (len) return len;
  const m = IQN_DATE.exec(s);
  if (!m) return fail("must look like 'iqn.yyyy-mm.reversed.domain[:unique]'");
  const month = Number(m[2]);
  if (month < 1 || month > 12) return fail(`has month ${m[2]} in its date; must be 01..12`);
  const rest = m[3];
  const colon = rest.indexOf(':');
  const authority = colon < 0 ? rest : rest.slice(0, colon);
  if (authority.length === 0) return fail('has no naming authority (reversed domain name) after the date');
  for (const label of authority.split('.')) {
    if (!DOMAIN_LABEL.test(label)) {
      const bad = badCharacter(label);
      return fail(bad ? `has ${bad} in its naming authority` : `has an invalid domain label '${label}' in its naming authority`);
    }
  }
  if (colon >= 0) {
    const unique = rest.slice(colon + 1);
    if (unique.length === 0) return fail("has nothing after ':'");
    const bad = badCharacter(unique);
    if (bad) return fail(`has ${bad}`);
  }
  return undefined;
}

/** RFC 3720 §3.2.6.3.2: eui. followed by 16 hex digits (EUI-64). */
export function euiProblem(s: string): NameProblem | undefined {
  if (/^eui\.[0-9a-fA-F]{16}$/.test(s)) return undefined;
  return { rule: 'eui-format', reason: "must be 'eui.' followed by exactly 16 hex digits" };
}

/** RFC 3980: naa. followed by 16 or 32 hex digits (NAA 64- or 128-bit). */
export function naaProblem(s: string): NameProblem | undefined {
  if (/^naa\.(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{32})$/.test(s)) return undefined;
  return { rule: 'naa-format', reason: "must be 'naa.' followed by 16 or 32 hex digits" };
}

export function nodeNameProblem(s: string): NameProblem | undefined {
  if (s.startsWith('iqn.')) return iqnProblem(s);
  if (s.startsWith('eui.')) return euiProblem(s);
  if (s.startsWith('naa.')) return naaProblem(s);
  const lower = s.slice(0, 4).toLowerCase();
  if (lower === 'iqn.' || lower === 'eui.' || lower === 'naa.') {
    return { rule: 'name-format', reason: `must start with lower-case '${lower}'` };
  }
  return { rule: 'name-format', reason: "must start with 'iqn.', 'eui.' or 'naa.'" };
}

export function validateIqn(s: string): string | undefined {
  return iqnProblem(s)?.reason;
}

export function validateEui(s: string): string | undefined {
  return euiProblem(s)?.reason;
}

export function validateNaa(s: string): string | undefined {
  return naaProblem(s)?.reason;
}

/** Any iSCSI name type. undefined = valid, else the reason. */
export function validateNodeName(s: string): string | undefined {
  return nodeNameProblem(s)?.reason;
}

/**
 * The key two names are equal under: eui./naa. hex digits are
 * case-insensitive; an iqn. is already lower-case when valid.
 */
export function nodeNameKey(s: string): string {
  return s.startsWith('iqn.') ? s : s.toLowerCase();
}
