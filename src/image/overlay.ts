/** A container's root filesystem: the image's unpacked layers as read-only
 * overlayfs lowerdirs, with the container's own upper and work directories.
 * Layout of `dir`: upper/, work/, rootfs/ (the mount point). */
import fs from 'node:fs';
import path from 'node:path';
import { PodrunError } from '../errors';
import { detachMount, nativeFs, type NativeFsApi } from '../native';
import { isRootless } from '../util/rootless';
import { shiftedCopy } from './id-shift';
import type { ImageStore } from './store';

export interface RootfsPaths {
  rootfs: string;
  upper: string;
  work: string;
}

export interface MountedRootfs extends RootfsPaths {
  /** the overlay mount options it was mounted with */
  options: string;
  /** set when the layers are a copy with owners shifted, not idmapped mounts: why */
  shiftedCopy?: string;
}

/** mount(2) copies at most one page of options */
const MAX_OPTIONS = 4095;

export function rootfsPaths(dir: string): RootfsPaths {
  return { rootfs: path.join(dir, 'rootfs'), upper: path.join(dir, 'upper'), work: path.join(dir, 'work') };
}

/** overlay mount options for layers given bottom first (pure). */
/** userXattr: overlayfs mounted in a user namespace (rootless) keeps its own xattrs as user.overlay.*, which the
 * layers were unpacked with there. */
export function overlayOptions(lowerDirs: string[], p: RootfsPaths, userXattr = false): string {
  for (const d of lowerDirs) {
    if (/[,:\\]/.test(d)) throw new PodrunError('EIMAGE', `layer path ${d} contains a character overlayfs options cannot carry`);
  }
  const lower = [...lowerDirs].reverse().join(':'); // overlayfs lists the top layer first
  return `lowerdir=${lower},upperdir=${p.upper},workdir=${p.work}${userXattr ? ',userxattr' : ''}`;
}

/** A user-namespaced pod's view of the layers: owners shifted by its user namespace's maps. */
export interface RootfsIdmap {
  /** the pinned user namespace (a /proc/PID/ns/user bind) */
  userns: string;
  /** host ids of the pod's root: the owner of the writable layer */
  uid: number;
  gid: number;
  /** how many ids the namespace maps (from uid and gid) */
  size: number;
  /** copy the layers with owners shifted even where idmapped mounts work (PODRUN_LAYER_IDMAP=copy) */
  copy?: boolean;
}

/** Mount the image's layers at dir/rootfs; returns the paths. With `idmap`, each layer is first bound read-only
 * at dir/idmap/<n> with its owners shifted into the pod's range (idmapped mounts, kernel ≥ 5.19: the shared layer
 * is never chowned), and the writable layer belongs to the pod's root. Where the kernel cannot idmap-mount the
 * layers' file system (mount_setattr: ENOSYS before 5.12, EINVAL where the file system does not support it), the
 * layers are copied to dir/shifted/<n> with their owners shifted instead, and `shiftedCopy` says why. */
export function mountRootfs(store: ImageStore, diffIds: string[], dir: string, fsx: Pick<NativeFsApi, 'mount' | 'idmapMount'> = nativeFs(), idmap?: RootfsIdmap): MountedRootfs {
  const p = rootfsPaths(dir);
  const lowers = diffIds.map((d) => {
    const l = store.layerDir(d);
    if (!fs.existsSync(l)) throw new PodrunError('ENOTFOUND', `layer ${d} is not unpacked in ${store.dataRoot} (pull the image again)`);
    return l;
  });
  if (lowers.length === 0) throw new PodrunError('EIMAGE', 'the image has no layers');
  for (const d of [p.rootfs, p.upper, p.work]) fs.mkdirSync(d, { recursive: true, mode: 0o755 });
  let layers = lowers;
  let copied: string | undefined;
  if (idmap) {
    if (idmap.copy) copied = 'PODRUN_LAYER_IDMAP=copy';
    layers = lowers.map((l, i) => {
      if (!copied) {
        const view = path.join(dir, 'idmap', String(i));
        fs.mkdirSync(view, { recursive: true, mode: 0o700 });
        try {
          fsx.idmapMount(l, view, idmap.userns);
          return view;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'ENOSYS' && code !== 'EINVAL') {
            throw new PodrunError('EHOST', `idmapped mount of layer ${diffIds[i]} for a pod with spec.hostUsers: false failed: ${(e as Error).message}`, { cause: e, errno: code });
          }
          copied = `idmapped mounts of ${path.dirname(l)} fail here: ${code}`; // this layer and those above it are copied
        }
      }
      const copy = path.join(dir, 'shifted', String(i));
      shiftedCopy(l, copy, { uidBase: idmap.uid, gidBase: idmap.gid, size: idmap.size });
      return copy;
    });
    fs.chownSync(p.upper, idmap.uid, idmap.gid);
  }
  const options = overlayOptions(layers, p, isRootless());
  if (options.length > MAX_OPTIONS) {
    throw new PodrunError('EIMAGE', `the image has too many layers (${lowers.length}) for one overlay mount's options (${options.length} bytes > ${MAX_OPTIONS}); a shorter --data-root helps`);
  }
  try {
    fsx.mount('overlay', p.rootfs, 'overlay', 0, options);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // overlayfs mounts in a user namespace from kernel 5.11 (podman falls back to fuse-overlayfs before; podrun does not)
    const why = isRootless() && (code === 'EPERM' || code === 'EINVAL') ? ' (rootless: this kernel may not mount overlayfs in a user namespace, which needs Linux ≥ 5.11; podrun has no fuse-overlayfs fallback: run it as root)' : '';
    throw new PodrunError('EHOST', `overlay mount of ${p.rootfs} failed: ${(e as Error).message}${why}`, { cause: e, errno: code });
  }
  return { ...p, options, ...(copied ? { shiftedCopy: copied } : {}) };
}

/** Unmount (lazily, so a busy mount still goes) and remove the container's layers; the idmapped layer views first
 * go too, so removing the directory never reaches into a shared layer. */
export function removeRootfs(dir: string, fsx: Pick<NativeFsApi, 'umount'> = nativeFs()): void {
  detachMount(rootfsPaths(dir).rootfs, fsx);
  const views = path.join(dir, 'idmap');
  for (const v of fs.existsSync(views) ? fs.readdirSync(views) : []) detachMount(path.join(views, v), fsx);
  fs.rmSync(dir, { recursive: true, force: true });
}
