// Typed results of a login negotiation (RFC 7143 §13), with RFC defaults for
// every key that was never negotiated.

export type SessionType = 'Normal' | 'Discovery';

export interface SessionParameters {
  InitialR2T: boolean;
  ImmediateData: boolean;
  MaxBurstLength: number;
  FirstBurstLength: number;
  DefaultTime2Wait: number;
  DefaultTime2Retain: number;
  MaxOutstandingR2T: number;
  DataPDUInOrder: boolean;
  DataSequenceInOrder: boolean;
  ErrorRecoveryLevel: number;
  MaxConnections: number;
  SessionType: SessionType;
  InitiatorName: string;
  InitiatorAlias?: string;
  TargetName?: string;
  TargetAlias?: string;
  TargetPortalGroupTag: number;
}

export interface ConnectionParameters {
  headerDigest: boolean;
  dataDigest: boolean;
  /** Largest data segment this side receives: what we declared (8192 if we never declared). */
  maxRecvDataSegmentLength: number;
  /** Largest data segment this side may send: the peer's declared MaxRecvDataSegmentLength (8192 if never declared). */
  maxXmitDataSegmentLength: number;
}

/** RFC 7143 §13.12: MaxRecvDataSegmentLength default. */
export const DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH = 8192;

/**
 * The values the target offers/accepts when the TPG configuration omits a key:
 * LIO's defaults (iscsi_target_parameters.h), which differ from the RFC
 * defaults only where a target prefers something else (digests supported).
 */
export const TARGET_DEFAULTS: Readonly<Record<string, string>> = {
  AuthMethod: 'CHAP,None',
  HeaderDigest: 'CRC32C,None',
  DataDigest: 'CRC32C,None',
  MaxConnections: '1',
  InitialR2T: 'Yes',
  ImmediateData: 'Yes',
  MaxRecvDataSegmentLength: '8192',
  MaxBurstLength: '262144',
  FirstBurstLength: '65536',
  DefaultTime2Wait: '2',
  DefaultTime2Retain: '20',
  MaxOutstandingR2T: '1',
  DataPDUInOrder: 'Yes',
  DataSequenceInOrder: 'Yes',
  ErrorRecoveryLevel: '0',
  TaskReporting: 'RFC3720',
  iSCSIProtocolLevel: '1',
};
