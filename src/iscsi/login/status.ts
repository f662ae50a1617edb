// Login Response Status-Class / Status-Detail (RFC 7143 §11.13.5).

export interface LoginStatus {
  readonly statusClass: number;
  readonly statusDetail: number;
}

const status = (statusClass: number, statusDetail: number): LoginStatus => ({ statusClass, statusDetail });

export const LOGIN_STATUS = {
  success: status(0x00, 0x00),
  /** Miscellaneous initiator error, e.g. a protocol violation. */
  initiatorError: status(0x02, 0x00),
  authenticationFailure: status(0x02, 0x01),
  authorizationFailure: status(0x02, 0x02),
  notFound: status(0x02, 0x03),
  targetRemoved: status(0x02, 0x04),
  unsupportedVersion: status(0x02, 0x05),
  tooManyConnections: status(0x02, 0x06),
  missingParameter: status(0x02, 0x07),
  cantIncludeInSession: status(0x02, 0x08),
  sessionTypeNotSupported: status(0x02, 0x09),
  sessionDoesNotExist: status(0x02, 0x0a),
  invalidDuringLogin: status(0x02, 0x0b),
  targetError: status(0x03, 0x00),
  serviceUnavailable: status(0x03, 0x01),
  outOfResources: status(0x03, 0x02),
} as const;
