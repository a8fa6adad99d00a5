/**
 * Everything the simulator remembers: what it was asked (for assertions and benchmarks) and the
 * fake Meta world (tokens, WABAs, numbers, templates…). Route plugins of each area keep their own
 * part under `areas`, keyed by area name, so areas do not step on each other.
 */
export interface RecordedRequest {
  at: number;
  method: string;
  path: string;
  query: Record<string, unknown>;
  body: unknown;
  /** The bearer token the caller used, if any (the simulator is not a real Meta: it may keep it). */
  token?: string;
}

export class SimState {
  readonly requests: RecordedRequest[] = [];
  readonly areas = new Map<string, unknown>();

  /** The state of one area, created on first use. */
  area<T>(name: string, init: () => T): T {
    let value = this.areas.get(name) as T | undefined;
    if (value === undefined) {
      value = init();
      this.areas.set(name, value);
    }
    return value;
  }

  requestsTo(pathPattern: RegExp, method?: string): RecordedRequest[] {
    return this.requests.filter((r) => pathPattern.test(r.path) && (!method || r.method === method));
  }

  reset(): void {
    this.requests.length = 0;
    this.areas.clear();
  }
}
