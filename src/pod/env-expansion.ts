/** Kubernetes' `$(VAR)` references, as kubelet expands them in env values,
 * command and args: `$(NAME)` becomes NAME's value where NAME is defined,
 * `$$` is a literal `$`, and anything else — an undefined name, an
 * unterminated `$(` — stays as written. Pure. */

/** Expand the references in `input`; `lookup` answers undefined for names it does not define. */
export function expandReferences(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let checkpoint = 0;
  for (let i = 0; i < input.length; i++) {
    if (input[i] !== '$' || i + 1 >= input.length) continue;
    out += input.slice(checkpoint, i);
    const next = input[i + 1];
    if (next === '$') {
      out += '$'; // the escape
      i += 1;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += '$('; // unterminated: kept, the rest copied as text
        i += 1;
      } else {
        const name = input.slice(i + 2, close);
        out += lookup(name) ?? `$(${name})`;
        i = close;
      }
    } else {
      out += `$${next}`;
      i += 1;
    }
    checkpoint = i + 1;
  }
  return out + input.slice(checkpoint);
}

/** A container's env in order, each literal value expanded against the names defined before it (kubelet's rule);
 * values from elsewhere (fieldRef, configMapKeyRef, …) are taken as they are. */
export function expandEnv(entries: Array<{ name: string; value: string; literal: boolean }>): Array<{ name: string; value: string }> {
  const defined = new Map<string, string>();
  return entries.map((e) => {
    const value = e.literal ? expandReferences(e.value, (n) => defined.get(n)) : e.value;
    defined.set(e.name, value);
    return { name: e.name, value };
  });
}
