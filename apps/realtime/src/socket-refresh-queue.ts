/**
 * At most one refresh in flight per socket, and at most one waiting: a refresh that arrives while
 * another runs replaces the waiting one (the latest token wins), and the replaced request is answered
 * at once with `superseded`. However many `auth:refresh` a client sends, the server does one JWT check
 * and one database read at a time, and never more than two per burst.
 */
export class RefreshQueue<Input, Output> {
  private running = false;
  private waiting: { input: Input; reply: (out: Output) => void } | null = null;

  constructor(
    private readonly run: (input: Input) => Promise<Output>,
    private readonly answers: { superseded: () => Output; failed: (err: unknown) => Output },
    /** Told when the queue starts working and when it has nothing left (the server's in-flight count). */
    private readonly activity: { busy(): void; idle(): void } = { busy: () => undefined, idle: () => undefined },
  ) {}

  push(input: Input, reply: (out: Output) => void): void {
    if (this.waiting) this.waiting.reply(this.answers.superseded());
    this.waiting = { input, reply };
    if (!this.running) void this.drain();
  }

  /** A request is running or waiting. */
  get busy(): boolean {
    return this.running || this.waiting !== null;
  }

  private async drain(): Promise<void> {
    this.running = true;
    this.activity.busy();
    try {
      while (this.waiting) {
        const { input, reply } = this.waiting;
        this.waiting = null;
        let out: Output;
        try {
          out = await this.run(input);
        } catch (err) {
          out = this.answers.failed(err);
        }
        reply(out);
      }
    } finally {
      this.running = false;
      this.activity.idle();
    }
  }
}
