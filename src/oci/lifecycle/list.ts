/** `list`: every container under the root with its OCI state. */
import { ociState, type OciState } from './container-status';
import { listContainerIds, readRecord } from './state-store';

export function listContainers(root: string): OciState[] {
  const out: OciState[] = [];
  for (const id of listContainerIds(root)) {
    const rec = readRecord(root, id);
    if (rec) out.push(ociState(root, rec));
  }
  return out;
}

/** runc's table: ID PID STATUS BUNDLE CREATED OWNER */
export function formatList(states: OciState[]): string {
  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner || 'root'])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('')).join('\n') + '\n';
}
