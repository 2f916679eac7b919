/** Wake-ups when files change: inotify watches on directories (fs.watch), each change ringing one bell that
 * `next()` waits for (or a fallback interval, for what writes no file). Many changes between two `next()` calls
 * wake it once. Watching a directory that does not exist (yet, or any more) is not an error. */
import fs from 'node:fs';

export class ChangeFeed {
  #watchers = new Map<string, fs.FSWatcher>();
  #rung = false;
  #wake: (() => void) | undefined;

  constructor(private readonly signal?: AbortSignal) {
    signal?.addEventListener('abort', () => this.#ring(), { once: true });
  }

  /** watch `dir` (once; again after it went away and came back), counting only names `only` accepts */
  watch(dir: string, only?: (name: string) => boolean): void {
    if (this.#watchers.has(dir)) return;
    let w: fs.FSWatcher;
    try {
      w = fs.watch(dir, { persistent: false }, (_event, name) => {
        if (!only || (name !== null && only(String(name)))) this.#ring();
      });
    } catch {
      return;
    }
    w.on('error', () => {
      // the directory was removed: say so, and let a later watch() start again
      w.close();
      this.#watchers.delete(dir);
      this.#ring();
    });
    this.#watchers.set(dir, w);
  }

  /** until something changed since the last call (or intervalMs passed, or the signal aborted) */
  async next(intervalMs: number): Promise<void> {
    if (!this.#rung && !this.signal?.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      // a writer replaces several files in a row: one look after the burst
      await new Promise((r) => setTimeout(r, 2));
    }
    this.#wake = undefined;
    this.#rung = false;
  }

  close(): void {
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
    this.#ring();
  }

  #ring(): void {
    this.#rung = true;
    this.#wake?.();
  }
}
