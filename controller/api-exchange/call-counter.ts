// Counts the gateway's calls per grant durably before the gateway answers: a call is let through only once
// its count is written, so a controller killed at any moment has counted every call it let through and none
// twice. The write also has the last word on whether the grant is open (it reads the grant as the API server
// has it, and writes on that version only), so a grant changed a moment ago is not served from a stale cache.
// Writes are grouped per grant (one write carries every call that arrived while the previous write was in
// flight), so a busy grant costs one write per round trip, not one per call.

export interface CallDelta {
  allowed: number;
  refused: number;
  /** The latest call in the batch. */
  lastCallAt: Date;
}

interface Pending {
  delta: CallDelta;
  waiters: { resolve: (open: boolean) => void; reject: (error: unknown) => void }[];
}

/**
 * Adds a delta to the grant's stored counts, and says whether the grant was open: when it was not, the
 * delta's allowed calls were stored as refused (and must not go through).
 */
export type CallWriter = (key: string, delta: CallDelta) => Promise<boolean>;

export class CallCounter {
  private readonly pending = new Map<string, Pending>();
  private readonly writing = new Set<string>();
  private readonly write: CallWriter;

  constructor(write: CallWriter) {
    this.write = write;
  }

  /**
   * Resolves once the call is in the grant's stored counts, to whether the grant was open then (an allowed
   * call may go through only if so); rejects when it could not be written.
   */
  record(key: string, outcome: "allowed" | "refused", at: Date): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const entry = this.pending.get(key) ?? {
        delta: { allowed: 0, refused: 0, lastCallAt: at },
        waiters: [],
      };
      entry.delta[outcome] += 1;
      if (at > entry.delta.lastCallAt) entry.delta.lastCallAt = at;
      entry.waiters.push({ resolve, reject });
      this.pending.set(key, entry);
      if (!this.writing.has(key)) void this.drain(key);
    });
  }

  private async drain(key: string): Promise<void> {
    this.writing.add(key);
    try {
      for (let batch = this.pending.get(key); batch; batch = this.pending.get(key)) {
        this.pending.delete(key);
        try {
          const open = await this.write(key, batch.delta);
          for (const waiter of batch.waiters) waiter.resolve(open);
        } catch (error) {
          for (const waiter of batch.waiters) waiter.reject(error);
        }
      }
    } finally {
      this.writing.delete(key);
    }
  }
}
