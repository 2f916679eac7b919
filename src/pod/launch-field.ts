/** A container's launch failure names an OCI config field (`process.cwd`,
 * `mounts[7]`); a pod's user wrote a Pod, so say it in the Pod's terms. */
import { PodrunError } from '../errors';
import type { OciConfig } from '../oci/spec-schema';
import type { PodContainer } from './manifest-schema';

/** The Pod path of an OCI field of the config built for container c (at `field`, e.g. spec.containers[0]). */
export function podFieldOf(ociField: string, field: string, c: PodContainer, config: OciConfig): string | undefined {
  if (ociField === 'process.cwd') return `${field}.workingDir`;
  if (ociField === 'process.args[0]') {
    if (c.command?.length) return `${field}.command`;
    // args without command replace the image's Cmd; with no Entrypoint, args[0] is the program
    if (c.args?.length && config.process?.args?.[0] === c.args[0]) return `${field}.args`;
    return `${field}.image`;
  }
  const m = /^mounts\[(\d+)\]/.exec(ociField);
  if (m) {
    const mount = config.mounts?.[Number(m[1])];
    const i = (c.volumeMounts ?? []).findIndex((v) => v.mountPath.replace(/(.)\/+$/, '$1') === mount?.destination.replace(/(.)\/+$/, '$1'));
    if (i < 0) return undefined;
    const v = c.volumeMounts![i];
    return `${field}.volumeMounts[${i}]${v.subPath ? '.subPath' : v.subPathExpr ? '.subPathExpr' : ''}`;
  }
  return undefined;
}

/** e with its field in Pod terms, where one is known. */
export function inPodTerms(e: unknown, field: string, c: PodContainer, config: OciConfig): unknown {
  if (!(e instanceof PodrunError) || !e.field) return e;
  const podField = podFieldOf(e.field, field, c, config);
  if (!podField) return e;
  const message = e.message.includes(`[${e.field}]`) ? e.message.replace(`[${e.field}]`, `[${podField}]`) : `${e.message} [${podField}]`;
  return new PodrunError(e.code, message, { cause: e, field: podField, step: e.step, errno: e.errno });
}
