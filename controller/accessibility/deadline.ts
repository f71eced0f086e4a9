// Time bounds for the steps of a scan. A tenant's page decides how long it takes to load, settle and be
// checked, so every step the scanner waits on is raced against a deadline and against the scan's abort
// signal; whoever loses is cleaned up by the caller (the browser is closed, the worker terminated).

/** A step of a scan that did not finish in time; its message says which step and what the limit was. */
export class ScanTimeoutError extends Error {
  override readonly name = "ScanTimeoutError";
}

export const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** The reason a scan was aborted, as an Error with a readable message. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(String(reason ?? "the scan was cancelled"));
}

/**
 * Resolves like `work`, or rejects with a ScanTimeoutError(`message`) after `ms`, or with the abort reason
 * when `signal` aborts first. `work` itself is not cancelled: the caller tears down what it was using.
 */
export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  message: string,
  signal?: AbortSignal,
): Promise<T> {
  if (signal?.aborted) {
    work.catch(() => {});
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => finish(() => reject(abortReason(signal as AbortSignal)));
    const timer = setTimeout(() => finish(() => reject(new ScanTimeoutError(message))), ms);
    let settled = false;
    function finish(settle: () => void): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      settle();
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => finish(() => resolve(value)),
      (error: unknown) => finish(() => reject(error)),
    );
  });
}
