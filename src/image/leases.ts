/** Leases keep content alive through a prune: a pull in flight (tagged with
 * its pid, dropped when that process is gone) or a pod using an image's
 * layers (removed with the pod). Files under <data-root>/leases/. */
import fs from 'node:fs';
import path from 'node:path';
import { sweepAtomicTemps, VOLATILE, writeFileAtomic } from '../util/atomic-file';
import { isSameProcess, processStartTime } from '../util/process-identity';

export interface Lease {
  /** when set, the lease dies with this process */
  pid?: number;
  startTime?: number;
  /** image id (config digest) the holder uses */
  image?: string;
  blobs: string[];
  layers: string[];
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$/;

export function leasesDir(dataRoot: string): string {
  return path.join(dataRoot, 'leases');
}

export function writeLease(dataRoot: string, id: string, lease: Lease): void {
  if (!NAME_RE.test(id)) throw new Error(`invalid lease id ${JSON.stringify(id)}`);
  fs.mkdirSync(leasesDir(dataRoot), { recursive: true });
  // no fsync: a crash that could lose a lease also ends its holder (a process,
  // or a pod, whose runtime state is volatile): gc drops what it leaves
  writeFileAtomic(path.join(leasesDir(dataRoot), `${id}.json`), JSON.stringify(lease), 0o644, VOLATILE);
}

export function removeLease(dataRoot: string, id: string): void {
  fs.rmSync(path.join(leasesDir(dataRoot), `${id}.json`), { force: true });
}

/** A lease for the current process: content stored so far stays until we exit. */
export class ProcessLease {
  readonly id: string;
  readonly #lease: Lease;

  constructor(private readonly dataRoot: string, kind: string) {
    this.id = `${kind}-${process.pid}-${processStartTime(process.pid) ?? 0}-${Math.random().toString(16).slice(2, 8)}`;
    this.#lease = { pid: process.pid, startTime: processStartTime(process.pid), blobs: [], layers: [] };
    writeLease(dataRoot, this.id, this.#lease);
  }

  add(kind: 'blobs' | 'layers', digest: string): void {
    this.#lease[kind].push(digest);
    writeLease(this.dataRoot, this.id, this.#lease);
  }

  release(): void {
    removeLease(this.dataRoot, this.id);
  }
}

/** Live leases; leases of dead processes (and their writers' temp files) are removed on the way. */
export function liveLeases(dataRoot: string): Map<string, Lease> {
  const out = new Map<string, Lease>();
  sweepAtomicTemps(leasesDir(dataRoot));
  let names: string[];
  try {
    names = fs.readdirSync(leasesDir(dataRoot));
  } catch {
    return out;
  }
  for (const n of names) {
    if (!n.endsWith('.json')) continue;
    const file = path.join(leasesDir(dataRoot), n);
    let lease: Lease;
    try {
      lease = JSON.parse(fs.readFileSync(file, 'utf8')) as Lease;
    } catch {
      continue; // being rewritten, or debris: harmless to keep one round
    }
    if (lease.pid !== undefined && !isSameProcess(lease.pid, lease.startTime)) {
      fs.rmSync(file, { force: true });
      continue;
    }
    out.set(n.slice(0, -5), lease);
  }
  return out;
}
