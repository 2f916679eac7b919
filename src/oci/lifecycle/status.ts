/** OCI status from what is on disk and in /proc. Pure. */
export type OciStatus = 'creating' | 'created' | 'running' | 'stopped' | 'paused';

export interface StatusFacts {
  hasPid: boolean;
  exited: boolean;
  alive: boolean;
  started: boolean;
  frozen: boolean;
}

export function deriveStatus(f: StatusFacts): OciStatus {
  if (f.exited) return 'stopped';
  if (!f.hasPid) return 'creating';
  if (!f.alive) return 'stopped';
  if (f.frozen) return 'paused';
  return f.started ? 'running' : 'created';
}
