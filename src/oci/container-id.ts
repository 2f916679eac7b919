/** Container ids become path components (<root>/containers/<id>), so every
 * command checks one before it touches the filesystem, as runc does: letters,
 * digits, "_", "+", "-", "." — no separators, and neither "." nor "..".
 * native/oci/oci-fast.c applies the same rule before it serves a command. */
import { invalidField } from '../errors';

const ID_RE = /^[A-Za-z0-9_+.-]{1,1024}$/;

export function isValidContainerId(id: string): boolean {
  return ID_RE.test(id) && id !== '.' && id !== '..';
}

export function validateId(id: string): void {
  if (!isValidContainerId(id)) {
    throw invalidField('id', `invalid container ID format: ${JSON.stringify(id)} (letters, digits, "_", "+", "-", "."; not "." or "..")`);
  }
}
