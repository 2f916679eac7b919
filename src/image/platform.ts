/** Platform selection from an OCI index / Docker manifest list. */
import { PodrunError } from '../errors';
import type { Descriptor, ImageIndex } from './image-schema';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export function hostPlatform(): Platform {
  return { os: 'linux', architecture: GOARCH[process.arch] ?? process.arch };
}

/** `os/arch[/variant]`, e.g. linux/arm64/v8 */
export function parsePlatform(text: string): Platform {
  const [os, architecture, variant, extra] = text.split('/');
  if (!os || !architecture || extra !== undefined) {
    throw new PodrunError('EIMAGE', `platform ${JSON.stringify(text)}: expected os/arch[/variant], e.g. linux/amd64`, { field: 'platform' });
  }
  return { os, architecture, variant: variant || undefined };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

function normalizeVariant(p: Platform): string | undefined {
  if (p.architecture === 'arm64' && (!p.variant || p.variant === 'v8')) return undefined;
  return p.variant;
}

/** The manifest of an index for `want`; an error names what the index offers. */
export function selectManifest(index: ImageIndex, want: Platform, source: string): Descriptor {
  const candidates = index.manifests.filter((d) => d.platform);
  const match = candidates.find((d) => {
    const p = d.platform as Platform;
    if (p.os !== want.os || p.architecture !== want.architecture) return false;
    return !want.variant || normalizeVariant(p) === normalizeVariant(want);
  });
  if (match) return match;
  // an index without platforms (common in OCI layouts) that holds one image
  if (candidates.length === 0 && index.manifests.length === 1) return index.manifests[0];
  const offered = candidates.map((d) => formatPlatform(d.platform as Platform));
  throw new PodrunError('EIMAGE', `${source}: no image for platform ${formatPlatform(want)} (offered: ${offered.join(', ') || 'none'})`, { field: 'platform' });
}
