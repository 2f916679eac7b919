/** Per-layer progress bars (bytes, rate) on a TTY; one line per layer
 * otherwise only with --verbose, nothing by default. */
import type { PullEvent } from '../image';

type Bar = { update(v: number, payload?: object): void; setTotal(t: number): void; stop(): void };

export function pullProgress(enabled: boolean): { onEvent: (e: PullEvent) => void; stop: () => void } {
  if (!enabled || !process.stderr.isTTY) return { onEvent: () => undefined, stop: () => undefined };
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only on a TTY
  const cp = require('cli-progress') as typeof import('cli-progress');
  const multi = new cp.MultiBar(
    {
      stream: process.stderr,
      format: '{layer} {bar} {percentage}% | {value}/{total} B | {rate} | {state}',
      hideCursor: true,
      clearOnComplete: false,
      barsize: 24,
      etaBuffer: 20,
    },
    cp.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: Bar; done: number; started: number }>();
  const rate = (b: { done: number; started: number }): string => {
    const s = (Date.now() - b.started) / 1000;
    return s > 0 ? `${(b.done / s / 1048576).toFixed(1)} MiB/s` : '';
  };
  const onEvent = (e: PullEvent): void => {
    if (e.kind === 'resolved') {
      for (const l of e.layers) {
        const bar = multi.create(l.size, 0, { layer: l.digest.slice(7, 19), rate: '', state: 'waiting' }) as unknown as Bar;
        bars.set(l.digest, { bar, done: 0, started: Date.now() });
      }
      return;
    }
    const b = bars.get(e.layer.digest);
    if (!b) return;
    if (e.kind === 'layer-bytes') {
      b.done += e.bytes;
      b.bar.update(b.done, { rate: rate(b), state: 'downloading' });
    } else if (e.kind === 'layer-cached') b.bar.update(e.layer.size, { rate: '', state: 'already present' });
    else if (e.kind === 'layer-unpacking') b.bar.update(e.layer.size, { rate: rate(b), state: 'unpacking' });
    else if (e.kind === 'layer-done') b.bar.update(e.layer.size, { rate: rate(b), state: `done (${e.info.entries} entries)` });
  };
  return { onEvent, stop: () => multi.stop() };
}
