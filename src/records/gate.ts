/**
 * A readers-writer gate with writer preference: many `shared` sections run together; an
 * `exclusive` section waits for them to finish and holds new ones back until it is done.
 * Ingestion is shared; erasure and hold changes are exclusive, so an erasure never races a
 * record being sealed under the key it destroys. Sections must not nest. Shared sections held
 * back are bounded: beyond `maxWaiting` they are refused (OVERLOADED, 503) rather than queued.
 */
import { AuditlogError } from '../errors.js';

export class Gate {
  private active = 0;
  private writing = false;
  private readonly readers: (() => void)[] = [];
  private readonly writers: (() => void)[] = [];

  /** `maxWaiting`: most shared sections held back at once (each holds a request's records). */
  constructor(private readonly maxWaiting = 1024) {}

  /**
   * Runs `fn` in a shared section.
   * @throws AuditlogError('OVERLOADED') when `maxWaiting` sections already wait for an exclusive one.
   */
  async shared<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.writing && this.writers.length === 0) this.active++;
    else if (this.readers.length >= this.maxWaiting) {
      throw new AuditlogError(
        'OVERLOADED',
        `${this.readers.length} requests wait for an erasure or hold change`,
      );
    } else await new Promise<void>((r) => this.readers.push(r)); // the waker counts us in
    try {
      return await fn();
    } finally {
      this.active--;
      this.wake();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.writing && this.active === 0 && this.writers.length === 0) this.writing = true;
    else await new Promise<void>((r) => this.writers.push(r)); // the waker sets `writing`
    try {
      return await fn();
    } finally {
      this.writing = false;
      this.wake();
    }
  }

  private wake(): void {
    if (this.writing) return;
    if (this.writers.length > 0) {
      if (this.active === 0) {
        this.writing = true;
        this.writers.shift()!();
      }
      return;
    }
    while (this.readers.length > 0) {
      this.active++;
      this.readers.shift()!();
    }
  }
}
