// The iSCSI text keys (RFC 7143 §12 security keys, §13 operational keys,
// RFC 7144 iSCSIProtocolLevel) as one table that drives the negotiation engine.

/**
 * How a key's result is reached (RFC 7143 §6.2):
 * - list: the acceptor picks the first value of the offered list it supports;
 * - min / max: numeric, result is the smaller / larger of both values;
 * - and / or: Boolean result functions;
 * - declarative: a string the sender declares, no answer;
 * - numeric-declarative: a number the sender declares, no answer;
 * - auth: CHAP_* keys, handed to the authentication method;
 * - obsolete: markers, removed by RFC 7143 §13.26, answered with a fixed value.
 */
export type KeyKind = 'list' | 'min' | 'max' | 'and' | 'or' | 'declarative' | 'numeric-declarative' | 'auth' | 'obsolete';
export type KeyScope = 'connection' | 'session';
/** Login stage(s) that may carry the key: RFC 7143 §12 lists the only keys usable in the security stage. */
export type KeyPhase = 'security' | 'operational' | 'both' | 'ffp';
export type KeySender = 'initiator' | 'target' | 'both';

export interface KeyDefinition {
  readonly name: string;
  readonly kind: KeyKind;
  readonly scope: KeyScope;
  readonly phase: KeyPhase;
  /** May also be exchanged in full feature phase Text negotiation ("Use: ALL" / "FFP"). */
  readonly fullFeature: boolean;
  /** "LO": only on the leading connection of a session. */
  readonly leadingOnly: boolean;
  readonly sender: KeySender;
  /** "Irrelevant when: SessionType=Discovery". */
  readonly irrelevantInDiscovery: boolean;
  /** RFC default: the result when the key is never negotiated. */
  readonly defaultValue?: string;
  /** Inclusive bounds of numeric kinds. */
  readonly range?: { readonly min: number; readonly max: number };
  /** Values this implementation understands (list kinds and enumerated declaratives). */
  readonly values?: readonly string[];
  /** Fixed answer of obsolete keys. */
  readonly obsoleteAnswer?: string;
  readonly rfc: string;
}

const MAX_24 = 16777215;

function key(def: KeyDefinition): [string, KeyDefinition] {
  return [def.name, def];
}

const operational = {
  scope: 'session',
  phase: 'operational',
  fullFeature: false,
  leadingOnly: true,
  sender: 'both',
} as const;

const securityDeclarative = {
  scope: 'session',
  phase: 'both',
  leadingOnly: false,
  irrelevantInDiscovery: false,
} as const;

const chapKey = (name: string, sender: KeySender): [string, KeyDefinition] =>
  key({
    name,
    kind: 'auth',
    scope: 'connection',
    phase: 'security',
    fullFeature: false,
    leadingOnly: false,
    sender,
    irrelevantInDiscovery: false,
    rfc: 'RFC 7143 §12.1.3',
  });

export const KEYS: ReadonlyMap<string, KeyDefinition> = new Map<string, KeyDefinition>([
  key({ name: 'HeaderDigest', kind: 'list', scope: 'connection', phase: 'operational', fullFeature: false, leadingOnly: false, sender: 'both', irrelevantInDiscovery: false, defaultValue: 'None', values: ['CRC32C', 'None'], rfc: 'RFC 7143 §13.1' }),
  key({ name: 'DataDigest', kind: 'list', scope: 'connection', phase: 'operational', fullFeature: false, leadingOnly: false, sender: 'both', irrelevantInDiscovery: false, defaultValue: 'None', values: ['CRC32C', 'None'], rfc: 'RFC 7143 §13.1' }),
  key({ name: 'MaxConnections', kind: 'min', ...operational, irrelevantInDiscovery: true, defaultValue: '1', range: { min: 1, max: 65535 }, rfc: 'RFC 7143 §13.2' }),
  key({ name: 'SendTargets', kind: 'declarative', scope: 'session', phase: 'ffp', fullFeature: true, leadingOnly: false, sender: 'initiator', irrelevantInDiscovery: false, rfc: 'RFC 7143 §13.3' }),
  key({ name: 'TargetName', kind: 'declarative', ...securityDeclarative, fullFeature: true, sender: 'both', rfc: 'RFC 7143 §13.4' }),
  key({ name: 'InitiatorName', kind: 'declarative', ...securityDeclarative, fullFeature: false, sender: 'initiator', rfc: 'RFC 7143 §13.5' }),
  key({ name: 'TargetAlias', kind: 'declarative', ...securityDeclarative, fullFeature: true, sender: 'target', rfc: 'RFC 7143 §13.6' }),
  key({ name: 'InitiatorAlias', kind: 'declarative', ...securityDeclarative, fullFeature: true, sender: 'initiator', rfc: 'RFC 7143 §13.7' }),
  key({ name: 'TargetAddress', kind: 'declarative', ...securityDeclarative, fullFeature: true, sender: 'target', rfc: 'RFC 7143 §13.8' }),
  key({ name: 'TargetPortalGroupTag', kind: 'numeric-declarative', ...securityDeclarative, fullFeature: false, sender: 'target', range: { min: 0, max: 65535 }, rfc: 'RFC 7143 §13.9' }),
  key({ name: 'InitialR2T', kind: 'or', ...operational, irrelevantInDiscovery: true, defaultValue: 'Yes', rfc: 'RFC 7143 §13.10' }),
  key({ name: 'ImmediateData', kind: 'and', ...operational, irrelevantInDiscovery: true, defaultValue: 'Yes', rfc: 'RFC 7143 §13.11' }),
  key({ name: 'MaxRecvDataSegmentLength', kind: 'numeric-declarative', scope: 'connection', phase: 'operational', fullFeature: true, leadingOnly: false, sender: 'both', irrelevantInDiscovery: false, defaultValue: '8192', range: { min: 512, max: MAX_24 }, rfc: 'RFC 7143 §13.12' }),
  key({ name: 'MaxBurstLength', kind: 'min', ...operational, irrelevantInDiscovery: true, defaultValue: '262144', range: { min: 512, max: MAX_24 }, rfc: 'RFC 7143 §13.13' }),
  key({ name: 'FirstBurstLength', kind: 'min', ...operational, irrelevantInDiscovery: true, defaultValue: '65536', range: { min: 512, max: MAX_24 }, rfc: 'RFC 7143 §13.14' }),
  key({ name: 'DefaultTime2Wait', kind: 'max', ...operational, irrelevantInDiscovery: false, defaultValue: '2', range: { min: 0, max: 3600 }, rfc: 'RFC 7143 §13.15' }),
  key({ name: 'DefaultTime2Retain', kind: 'min', ...operational, irrelevantInDiscovery: false, defaultValue: '20', range: { min: 0, max: 3600 }, rfc: 'RFC 7143 §13.16' }),
  key({ name: 'MaxOutstandingR2T', kind: 'min', ...operational, irrelevantInDiscovery: true, defaultValue: '1', range: { min: 1, max: 65535 }, rfc: 'RFC 7143 §13.17' }),
  key({ name: 'DataPDUInOrder', kind: 'or', ...operational, irrelevantInDiscovery: true, defaultValue: 'Yes', rfc: 'RFC 7143 §13.18' }),
  key({ name: 'DataSequenceInOrder', kind: 'or', ...operational, irrelevantInDiscovery: true, defaultValue: 'Yes', rfc: 'RFC 7143 §13.19' }),
  key({ name: 'ErrorRecoveryLevel', kind: 'min', ...operational, irrelevantInDiscovery: false, defaultValue: '0', range: { min: 0, max: 2 }, rfc: 'RFC 7143 §13.20' }),
  key({ name: 'SessionType', kind: 'declarative', ...securityDeclarative, fullFeature: false, leadingOnly: true, sender: 'initiator', defaultValue: 'Normal', values: ['Discovery', 'Normal'], rfc: 'RFC 7143 §13.21' }),
  key({ name: 'TaskReporting', kind: 'list', ...operational, irrelevantInDiscovery: true, defaultValue: 'RFC3720', values: ['RFC3720'], rfc: 'RFC 7143 §13.23' }),
  key({ name: 'iSCSIProtocolLevel', kind: 'min', ...operational, irrelevantInDiscovery: true, defaultValue: '1', range: { min: 0, max: 31 }, rfc: 'RFC 7144 §2.1' }),
  // RFC 7143 §13.26: markers are obsolete. IFMarker/OFMarker SHOULD be answered
  // Reject but MAY be answered No (what LIO does, and what RFC 3720 initiators
  // expect); the *MarkInt keys MUST be answered Reject.
  key({ name: 'OFMarker', kind: 'obsolete', ...operational, leadingOnly: false, scope: 'connection', irrelevantInDiscovery: false, obsoleteAnswer: 'No', rfc: 'RFC 7143 §13.26' }),
  key({ name: 'IFMarker', kind: 'obsolete', ...operational, leadingOnly: false, scope: 'connection', irrelevantInDiscovery: false, obsoleteAnswer: 'No', rfc: 'RFC 7143 §13.26' }),
  key({ name: 'OFMarkInt', kind: 'obsolete', ...operational, leadingOnly: false, scope: 'connection', irrelevantInDiscovery: false, obsoleteAnswer: 'Reject', rfc: 'RFC 7143 §13.26' }),
  key({ name: 'IFMarkInt', kind: 'obsolete', ...operational, leadingOnly: false, scope: 'connection', irrelevantInDiscovery: false, obsoleteAnswer: 'Reject', rfc: 'RFC 7143 §13.26' }),
  key({ name: 'AuthMethod', kind: 'list', scope: 'connection', phase: 'security', fullFeature: false, leadingOnly: false, sender: 'both', irrelevantInDiscovery: false, defaultValue: 'None', values: ['CHAP', 'None'], rfc: 'RFC 7143 §12.1' }),
  chapKey('CHAP_A', 'both'),
  chapKey('CHAP_I', 'both'),
  chapKey('CHAP_C', 'both'),
  chapKey('CHAP_N', 'both'),
  chapKey('CHAP_R', 'both'),
]);

export function lookupKey(name: string): KeyDefinition | undefined {
  return KEYS.get(name);
}

/** RFC 7143 §13.22 / §13.5.4 of RFC 3720: "X-" private and "X#" IANA-registered extension keys. */
export function isExtensionKey(name: string): boolean {
  return name.startsWith('X-') || name.startsWith('X#');
}

/** Reserved answer constants (RFC 7143 §6.2): never valid as an offered value. */
export const RESPONSE_CONSTANTS: ReadonlySet<string> = new Set(['Reject', 'Irrelevant', 'NotUnderstood']);
