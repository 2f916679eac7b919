/** Text as it comes (log chunks) → whole lines, without their newline; `end()` gives the unfinished last one. */
export function lineSplitter(onLine: (line: string) => void): { write(text: string): void; end(): void } {
  let partial = '';
  return {
    write(text) {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    },
    end() {
      if (partial) onLine(partial);
      partial = '';
    },
  };
}
