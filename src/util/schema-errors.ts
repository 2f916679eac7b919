/** ajv errors → `field.path[0]: reason` lines. */
export interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** `/process/args/1` → `process.args[1]` */
export function pointerToPath(pointer: string, extra?: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const p of parts) {
    if (/^\d+$/.test(p)) out += `[${p}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out || '(root)';
}

export function describeAjvError(e: AjvError, patternMessages: Record<string, string>): { field: string; reason: string } {
  switch (e.keyword) {
    case 'required':
      return { field: pointerToPath(e.instancePath, String(e.params.missingProperty)), reason: 'required' };
    case 'pattern':
      return { field: pointerToPath(e.instancePath), reason: patternMessages[String(e.params.pattern)] ?? e.message ?? 'invalid' };
    case 'enum':
      return { field: pointerToPath(e.instancePath), reason: `must be one of ${(e.params.allowedValues as unknown[]).map(String).join(', ')}` };
    default:
      return { field: pointerToPath(e.instancePath), reason: e.message ?? e.keyword };
  }
}

export interface GeneratedValidator {
  (doc: unknown): boolean;
  errors?: AjvError[] | null;
}

/** Up to ten `field: reason` lines for a failed validation. */
export function schemaErrorLines(errors: AjvError[], patternMessages: Record<string, string> = {}): { lines: string[]; first?: string } {
  const described = errors.map((e) => describeAjvError(e, patternMessages));
  const lines = described.slice(0, 10).map((e) => `${e.field}: ${e.reason}`);
  if (described.length > 10) lines.push(`… and ${described.length - 10} more`);
  return { lines, first: described[0]?.field };
}
