/**
 * kubectl's output shapes for pods: the Pod object (-o json|yaml), `pod/NAME` (-o name), JSONPath templates
 * (-o jsonpath='{.status.phase}', with {range}…{end} and {"literal"}), and label selectors (-l app=web,tier!=db).
 * Pure, but for the JSONPath library.
 */
import type { PodManifest, PodStatusReport } from '../pod';

export interface PodView {
  id: string;
  name: string;
  namespace: string;
  created: string;
  status: PodStatusReport;
  manifest: PodManifest;
}

/** A pod as the API server shows it: its manifest's metadata and spec, podrun's status; the uid is podrun's id. */
export function kubePod(p: PodView): Record<string, unknown> {
  const m = p.manifest.metadata;
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: p.name, namespace: p.namespace, uid: p.id, creationTimestamp: p.created, ...(m.labels ? { labels: m.labels } : {}), ...(m.annotations ? { annotations: m.annotations } : {}) },
    spec: p.manifest.spec,
    status: p.status,
  };
}

export const kubeList = (items: unknown[]): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } });

type Token = { text: string } | { path: string } | { range: string } | { end: true };

/** kubectl's template: text, {JSONPath}, {"literal"}, {range JSONPath} … {end} */
function tokenize(template: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open < 0) {
      out.push({ text: template.slice(i) });
      break;
    }
    if (open > i) out.push({ text: template.slice(i, open) });
    // a quoted literal may hold braces
    let close = open + 1;
    let quote: string | undefined;
    for (; close < template.length; close++) {
      const ch = template[close];
      if (quote) {
        if (ch === '\\') close++;
        else if (ch === quote) quote = undefined;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '}') break;
    }
    if (close >= template.length) throw new Error(`jsonpath ${template}: unclosed {`);
    const inner = template.slice(open + 1, close).trim();
    if (/^"(?:[^"\\]|\\.)*"$/.test(inner)) out.push({ text: JSON.parse(inner) as string });
    else if (inner === 'end') out.push({ end: true });
    else if (inner.startsWith('range ')) out.push({ range: inner.slice(6).trim() });
    else out.push({ path: inner });
    i = close + 1;
  }
  return out;
}

type Query = (path: string, json: unknown) => unknown[];

function jsonPathQuery(): Query {
  const { JSONPath } = require('jsonpath-plus') as typeof import('jsonpath-plus');
  return (path, json) => {
    // kubectl's paths start at the object: ".status.phase", or "$.status.phase"
    const p = path.startsWith('$') ? path : path.startsWith('.') || path.startsWith('[') ? `$${path}` : `$.${path}`;
    return JSONPath({ path: p, json: json as object, wrap: true, eval: 'safe' }) as unknown[];
  };
}

function show(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v);
}

function render(tokens: Token[], ctx: unknown, query: Query): string {
  let out = '';
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if ('text' in t) out += t.text;
    else if ('path' in t) out += query(t.path, ctx).map(show).join(' ');
    else if ('range' in t) {
      let depth = 1;
      let j = i + 1;
      for (; j < tokens.length; j++) {
        const u = tokens[j];
        if ('range' in u) depth++;
        if ('end' in u && --depth === 0) break;
      }
      if (j >= tokens.length) throw new Error('jsonpath: {range} without {end}');
      const body = tokens.slice(i + 1, j);
      for (const item of query(t.range, ctx)) out += render(body, item, query);
      i = j;
    } else throw new Error('jsonpath: {end} without {range}');
  }
  return out;
}

/** Evaluate a kubectl JSONPath template against an object. */
export function jsonPathTemplate(template: string, obj: unknown, query: Query = jsonPathQuery()): string {
  return render(tokenize(template), obj, query);
}

type Requirement = { key: string; op: 'in' | 'notin' | 'exists' | '!'; values: string[] };

/** A label selector as kubectl takes it: k=v, k==v, k!=v, k, !k, k in (a,b), k notin (a,b), comma-separated. */
export function parseSelector(selector: string): Requirement[] {
  const parts = selector.match(/(?:[^,(]|\([^)]*\))+/g) ?? [];
  if (parts.join(',') !== selector) throw new Error(`--selector ${selector}: cannot read it (k=v, k!=v, k, !k, k in (a,b), k notin (a,b))`);
  return parts.map((raw) => {
    const s = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^!\s*([\w./-]+)$/.exec(s))) return { key: m[1], op: '!', values: [] };
    if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(s))) return { key: m[1], op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]] };
    if ((m = /^([\w./-]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(s))) return { key: m[1], op: m[2] as 'in' | 'notin', values: m[3].split(',').map((v) => v.trim()) };
    if ((m = /^([\w./-]+)$/.exec(s))) return { key: m[1], op: 'exists', values: [] };
    throw new Error(`--selector ${selector}: cannot read "${s}" (k=v, k!=v, k, !k, k in (a,b), k notin (a,b))`);
  });
}

export function matchesSelector(labels: Record<string, string> | undefined, reqs: Requirement[]): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case 'exists': return has;
      case '!': return !has;
      case 'in': return has && r.values.includes(l[r.key]);
      case 'notin': return !has || !r.values.includes(l[r.key]);
    }
  });
}
