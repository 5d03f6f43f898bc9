/** An entry of a DeadlineQueue: its links are the queue's own. */
export interface Deadlined {
  readonly deadlineMs: number;
  prevDue: Deadlined | null;
  nextDue: Deadlined | null;
}

/**
 * The deadlines of one op's probes in flight, with one timer instead of one per probe. A worker issues an op's
 * probes in seq order and each one's deadline is its intended time plus the timeout, so they are added in
 * deadline order: the queue is a linked list whose head is due first. A probe that finishes leaves it at once
 * (nothing of it is kept: a probe must not outlive its answer in memory); the timer stays armed for the old
 * head and, when it fires early for the new one, is armed again — about once per timeout under steady load.
 */
export class DeadlineQueue<T extends Deadlined> {
  private head: Deadlined | null = null;
  private tail: Deadlined | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** When the armed timer is due (epoch ms). */
  private armedAtMs = Infinity;
  private closed = false;

  constructor(
    private readonly now: () => number,
    /** A probe whose deadline passed, already out of the queue. */
    private readonly expire: (item: T) => void,
  ) {}

  add(item: T): void {
    // After the last one, as a rule; a deadline earlier than the tail's (not made by the engine) goes in its place.
    let after = this.tail;
    while (after !== null && after.deadlineMs > item.deadlineMs) after = after.prevDue;
    item.prevDue = after;
    item.nextDue = after === null ? this.head : after.nextDue;
    if (after === null) this.head = item;
    else after.nextDue = item;
    if (item.nextDue === null) this.tail = item;
    else item.nextDue.prevDue = item;
    if (this.closed || (this.timer !== null && this.armedAtMs <= item.deadlineMs)) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.arm(item.deadlineMs);
  }

  /** Takes an item out (it finished); an item not in the queue is left alone. */
  remove(item: T): void {
    if (item.prevDue === null && this.head !== item) return;
    if (item.prevDue === null) this.head = item.nextDue;
    else item.prevDue.nextDue = item.nextDue;
    if (item.nextDue === null) this.tail = item.prevDue;
    else item.nextDue.prevDue = item.prevDue;
    item.prevDue = null;
    item.nextDue = null;
  }

  /** No more timers (the engine is done; anything still queued is left to its own end). */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.armedAtMs = Infinity;
  }

  private arm(atMs: number): void {
    this.armedAtMs = atMs;
    // Timers fire late, never early by the event loop's clock; this clock may differ from it by a fraction of a
    // millisecond, so fire() checks again and re-arms for what is left.
    this.timer = setTimeout(() => this.fire(), Math.max(0, atMs - this.now()));
  }

  private fire(): void {
    this.timer = null;
    this.armedAtMs = Infinity;
    const nowMs = this.now();
    for (let h = this.head; h !== null && h.deadlineMs <= nowMs; h = this.head) {
      this.remove(h as T);
      this.expire(h as T);
    }
    if (this.head !== null && this.timer === null && !this.closed) this.arm(Math.max(this.head.deadlineMs, nowMs + 1));
  }
}
