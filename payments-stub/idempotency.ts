// Idempotency keys: the first request with a key does the work; every later one
// with the same key gets the same answer, and a different body under the key is refused.

/** An HTTP answer kept under its key and served again on replay. */
export interface StoredAnswer {
  status: number;
  body: object;
}

export type IdempotentResult =
  | { kind: 'first'; answer: StoredAnswer }
  | { kind: 'replay'; answer: StoredAnswer }
  | { kind: 'key_reused' };

interface Entry {
  fingerprint: string;
  answer: Promise<StoredAnswer>;
}

export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  /**
   * Runs `work` once per key. `fingerprint` identifies the request (operation and
   * body); a later request under the key with another fingerprint gets `key_reused`.
   */
  async run(key: string, fingerprint: string, work: () => Promise<StoredAnswer>): Promise<IdempotentResult> {
    const existing = this.entries.get(key);
    if (existing) {
      if (existing.fingerprint !== fingerprint) return { kind: 'key_reused' };
      // A twin still in flight is awaited here rather than applied a second time.
      return { kind: 'replay', answer: await existing.answer };
    }
    // Recorded before the first await, so a concurrent request finds it.
    const answer = work();
    this.entries.set(key, { fingerprint, answer });
    try {
      return { kind: 'first', answer: await answer };
    } catch (err) {
      // Nothing was stored, so a retry may do the work.
      this.entries.delete(key);
      throw err;
    }
  }
}
