import type { AnonymousSummary } from "./chain.ts";

/**
 * Anonymous traffic (no token, or one that did not verify) is refused without touching anything, and is
 * counted here rather than recorded request by request: one summary per interval, by method, route pattern
 * (never the URL the caller chose) and status, plus the busiest addresses. However much anonymous traffic
 * arrives, the audit log grows by at most one bounded record per interval.
 */
export class AnonymousTally {
  private readonly maxRoutes: number;
  private readonly maxAddresses: number;
  private routes = new Map<string, { method: string; route: string; status: number; count: number }>();
  private addresses = new Map<string, number>();
  private other = 0;
  private total = 0;
  private from: Date | undefined;

  constructor(options: { maxRoutes?: number; maxAddresses?: number } = {}) {
    this.maxRoutes = options.maxRoutes ?? 32;
    this.maxAddresses = options.maxAddresses ?? 1000;
  }

  count(method: string, route: string, status: number, address: string, now = new Date()): void {
    this.from ??= now;
    this.total++;
    const key = `${method} ${route} ${status}`;
    const entry = this.routes.get(key);
    if (entry) entry.count++;
    else if (this.routes.size < this.maxRoutes)
      this.routes.set(key, { method: method.slice(0, 10), route: route.slice(0, 200), status, count: 1 });
    else this.other++;
    // Counting addresses is bounded too: past the cap only the addresses already seen are counted.
    const seen = this.addresses.get(address);
    if (seen !== undefined) this.addresses.set(address, seen + 1);
    else if (this.addresses.size < this.maxAddresses) this.addresses.set(address, 1);
  }

  /** The summary since the last one (undefined when nothing came), and a fresh start. */
  take(now = new Date(), topAddresses = 5): AnonymousSummary | undefined {
    if (!this.total || !this.from) return undefined;
    const summary: AnonymousSummary = {
      from: this.from.toISOString(),
      to: now.toISOString(),
      total: this.total,
      routes: [...this.routes.values()].sort((a, b) => b.count - a.count),
      other: this.other,
      addresses: [...this.addresses.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, topAddresses)
        .map(([address, count]) => ({ address: address.slice(0, 64), count })),
    };
    this.routes = new Map();
    this.addresses = new Map();
    this.other = 0;
    this.total = 0;
    this.from = undefined;
    return summary;
  }
}
