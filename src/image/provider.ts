/** Where image content comes from: an OCI layout, an archive, a registry.
 * The import pipeline asks a provider for documents and blobs by
 * descriptor and verifies everything it gets. */
import type { Readable } from 'node:stream';
import type { Descriptor } from './image-schema';

export interface TopDocument {
  data: Buffer;
  mediaType: string;
  /** the digest the document must have, when the source names one */
  digest?: string;
}

export interface ImageProvider {
  /** for messages: "oci:/path", "docker.io/library/busybox:latest" */
  readonly description: string;
  /** the name to record for the image, if the source gives one */
  readonly name?: string;
  /** the document the reference points at: an index or a manifest */
  resolve(): Promise<TopDocument>;
  /** a manifest or index by descriptor (small) */
  fetchDocument(desc: Descriptor): Promise<Buffer>;
  /** a blob's bytes, unverified: the caller checks size and digest */
  openBlob(desc: Descriptor): Promise<Readable>;
  /** release temporary files or connections */
  close(): Promise<void>;
}
