/** Values pushed by a producer, read with `for await`: ends when the producer ends (or fails), and tells the
 * producer to stop (abort) when the reader leaves the loop early. */
export class AsyncQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #done = false;
  #error: unknown;
  #wake: (() => void) | undefined;
  readonly abort = new AbortController();

  push(item: T): void {
    this.#items.push(item);
    this.#wake?.();
  }

  end(error?: unknown): void {
    this.#done = true;
    this.#error = error;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      for (;;) {
        while (this.#items.length) yield this.#items.shift()!;
        if (this.#done) {
          if (this.#error !== undefined) throw this.#error;
          return;
        }
        await new Promise<void>((r) => (this.#wake = r));
        this.#wake = undefined;
      }
    } finally {
      this.abort.abort();
    }
  }
}
