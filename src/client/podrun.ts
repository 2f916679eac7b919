/** The client object test authors hold: the options every call needs (state and data roots, network), pods
 * started from a manifest, a file, YAML text or a builder, owned by the calling process unless asked otherwise
 * (removed by podrun when it ends, SIGKILL included), and optionally waited for. */
import { DEFAULT_DATA_ROOT } from '../image/store';
import { inspectImage, loadImage, pullImage, type PulledImage } from '../image';
import { DEFAULT_STATE_ROOT } from '../oci/lifecycle/state-store';
import { PodrunError } from '../errors';
import { gcPods, inspectPod, pods, removePodByName, startPodFrom, startPodFromText, type GcReport, type PodManifest, type PodOptions, type PodSummary } from '../pod';
import { ensureReaper, thisProcess } from './owner-reaper';
import { PodBuilder } from './pod-builder';
import { Pod } from './pod-handle';
import type { WaitStrategy } from './wait';

export interface PodrunOptions {
  /** pod state (default /run/podrun) */
  root?: string;
  /** images, writable layers, volumes (default /var/lib/podrun) */
  dataRoot?: string;
  /** the CNI network pods join (a conflist name); loopback only when absent */
  network?: string;
  cniConfDir?: string;
  cniBinDirs?: string[];
  /** pull over plain HTTP (a local registry) */
  insecure?: boolean;
  /** first restart back-off in ms (kubelet's 10 s by default) */
  restartBackoffMs?: number;
  /** what podrun has to say that is not an error (limits it cannot enforce…); default: ignored */
  onWarning?: (message: string) => void;
  /** unknown manifest fields: refused (strict, the default), warned about, or ignored */
  validate?: 'strict' | 'warn' | 'ignore';
}

export interface StartOptions {
  /** removed by podrun once this process ends, however it ends (default true) */
  owned?: boolean;
  /** wait for this before returning; on failure the pod is removed and the error thrown */
  waitFor?: WaitStrategy;
  /** for waitFor (default 60 s) */
  timeoutMs?: number;
  /** ConfigMaps and Secrets the pod uses */
  objects?: Array<Record<string, unknown>>;
}

/** A pod to start: a manifest object, a builder, a file (YAML or JSON), or YAML text. */
export type PodSource = PodManifest | PodBuilder | { file: string } | { yaml: string };

export class Podrun {
  readonly options: Readonly<PodrunOptions>;

  constructor(o: PodrunOptions = {}) {
    // an ordinary user's process is outside the user namespace rootless podrun works in: it could make no mount
    if (process.getuid?.() !== 0) {
      throw new PodrunError('EHOST', "podrun's library runs as root, or rootless inside your podrun user namespace: " +
        '`podrun unshare node --test …` (or `podrun unshare npm test`); docs/rootless.md');
    }
    // the roots as the CLI finds them: options, else $PODRUN_RUNROOT / $PODRUN_DATA_ROOT, else the defaults
    this.options = { ...o, root: o.root ?? (process.env.PODRUN_RUNROOT || DEFAULT_STATE_ROOT), dataRoot: o.dataRoot ?? (process.env.PODRUN_DATA_ROOT || DEFAULT_DATA_ROOT) };
  }

  get #podOptions(): Partial<PodOptions> {
    return { ...this.options };
  }

  /** A builder of a pod named `name`; `.start()` starts it with this client. */
  pod(name: string): PodBuilder & { start(o?: StartOptions): Promise<Pod> } {
    const b = new PodBuilder(name) as PodBuilder & { start(o?: StartOptions): Promise<Pod> };
    b.start = (o?: StartOptions) => this.start(b, o);
    return b;
  }

  /** Start a pod; it runs when this resolves (and, with waitFor, is ready). */
  async start(source: PodSource, o: StartOptions = {}): Promise<Pod> {
    const owned = o.owned ?? true;
    const options: Partial<PodOptions> & { objects?: Array<Record<string, unknown>> } = { ...this.#podOptions, objects: o.objects };
    if (owned) {
      options.owner = thisProcess();
      ensureReaper(this.options.root!, this.options.dataRoot!);
    }
    let rec;
    if (source instanceof PodBuilder) rec = await startPodFrom(source.build(), options);
    else if ('file' in source && typeof source.file === 'string') rec = await startPodFrom(source.file, options);
    else if ('yaml' in source && typeof source.yaml === 'string') {
      if (o.objects) throw new PodrunError('EINVALID_CONFIG', 'objects: with yaml, put the ConfigMaps and Secrets in the YAML text', { field: 'objects' });
      rec = await startPodFromText(source.yaml, options);
    } else rec = await startPodFrom(source as PodManifest, options);
    const pod = new Pod(rec.id, rec.name, this.#podOptions);
    if (o.waitFor) {
      try {
        await pod.waitFor(o.waitFor, { timeoutMs: o.timeoutMs });
      } catch (e) {
        await pod.remove({ force: true }).catch(() => undefined);
        throw e;
      }
    }
    return pod;
  }

  /** A handle on an existing pod, by name or id. */
  get(query: string): Pod {
    const p = inspectPod(query, this.#podOptions);
    return new Pod(p.id, p.name, this.#podOptions);
  }

  list(): PodSummary[] {
    return pods(this.#podOptions);
  }

  async remove(query: string, o: { force?: boolean } = {}): Promise<void> {
    await removePodByName(query, { ...this.#podOptions, force: o.force ?? true });
  }

  pull(image: string): Promise<PulledImage> {
    return pullImage(image, { dataRoot: this.options.dataRoot, insecure: this.options.insecure });
  }

  /** Load an image archive or OCI layout (`podrun load`), recorded as `name`; nothing is done when `name` is
   * already there (a test's `before`). */
  async load(file: string, o: { name: string; ifMissing?: boolean }): Promise<void> {
    if (o.ifMissing !== false) {
      try {
        inspectImage(o.name, { dataRoot: this.options.dataRoot });
        return;
      } catch (e) {
        if ((e as PodrunError).code !== 'ENOTFOUND') throw e;
      }
    }
    await loadImage(file, { dataRoot: this.options.dataRoot, name: o.name });
  }

  /** What crashed starts and ended owners left: see `podrun gc`. */
  gc(): Promise<GcReport> {
    return gcPods(this.#podOptions);
  }
}
