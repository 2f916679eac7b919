/** The one error type podrun throws: a stable machine-readable `code`, a
 * message for humans, and the underlying cause. */
export type PodrunErrorCode =
  | 'EINVALID_CONFIG' // a config/manifest field is malformed or unsupported
  | 'ELAUNCH' // the native launch failed at a named step
  | 'ECGROUP' // cgroup creation, placement or removal failed
  | 'EEXIST' // id already in use
  | 'ENOTFOUND' // bundle, file or container missing
  | 'EHOST' // the host cannot provide what was asked (missing capability, limit)
  | 'EIMAGE' // an image, manifest or layer is malformed or unsupported
  | 'EDIGEST' // content does not match its digest
  | 'EUNSAFE' // a layer entry would write outside its root
  | 'EREGISTRY' // a registry refused or failed a request (auth, network, status)
  | 'ETIMEOUT' // a wait for a pod (a log line, a port, readiness…) ran out of time
  | 'EEXITED' // a pod ended, failed or was removed while something waited for it to be ready
  | 'EINTERNAL';

export interface PodrunErrorOptions {
  cause?: unknown;
  /** JSON path of the offending field, e.g. `process.args[0]` */
  field?: string;
  /** launch step, e.g. `mount`, `exec` */
  step?: string;
  errno?: string;
}

export class PodrunError extends Error {
  readonly code: PodrunErrorCode;
  readonly field?: string;
  readonly step?: string;
  readonly errno?: string;

  constructor(code: PodrunErrorCode, message: string, opts: PodrunErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PodrunError';
    this.code = code;
    this.field = opts.field;
    this.step = opts.step;
    this.errno = opts.errno;
  }
}

/** Error for one field of an input document. */
export function invalidField(field: string, reason: string): PodrunError {
  return new PodrunError('EINVALID_CONFIG', `${field}: ${reason}`, { field });
}

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}
