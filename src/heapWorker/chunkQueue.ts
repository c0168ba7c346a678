// An async iterable of the chunks the host posts for a streamed parse: push() as they arrive, end()
// after the last one (or on cancel, so a waiting parse wakes up and sees it).
export class ChunkQueue implements AsyncIterable<string | Uint8Array> {
  private items: (string | Uint8Array)[] = [];
  private head = 0;
  private ended = false;
  private wake: (() => void) | null = null;

  push(chunk: string | Uint8Array): void {
    if (this.ended) return;
    this.items.push(chunk);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string | Uint8Array> {
    for (;;) {
      if (this.head < this.items.length) {
        const chunk = this.items[this.head];
        this.items[this.head++] = '';
        if (this.head === this.items.length) { this.items = []; this.head = 0; }
        yield chunk;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>(resolve => { this.wake = resolve; });
      this.wake = null;
    }
  }
}
