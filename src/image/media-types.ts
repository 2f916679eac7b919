/** OCI and Docker media types podrun reads, and what each one means. */
export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerForeign: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

export type Compression = 'none' | 'gzip' | 'zstd';

export const INDEX_TYPES: readonly string[] = [MT.ociIndex, MT.dockerList];
export const MANIFEST_TYPES: readonly string[] = [MT.ociManifest, MT.dockerManifest];

/** Compression of a layer media type, or null when it is not a layer podrun can unpack. */
export function layerCompression(mediaType: string): Compression | null {
  switch (mediaType) {
    case MT.ociLayer:
    case 'application/vnd.docker.image.rootfs.diff.tar':
      return 'none';
    case MT.ociLayerGzip:
    case MT.ociLayerNondistGzip:
    case MT.dockerLayerGzip:
    case MT.dockerLayerForeign:
      return 'gzip';
    case MT.ociLayerZstd:
      return 'zstd';
    default:
      return null;
  }
}

/** Compression from the first bytes of a blob (docker-archive layers carry no media type). */
export function sniffCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}
