/**
 * A server-wide budget of request-body bytes being received at once.
 *
 * Each route caps its own body (limitBody: up to 8 MiB for `POST /v1/records`) and
 * `--request-timeout` caps how long a body may take to arrive, but neither bounds the total:
 * a thousand slow clients could each hold up to 8 MiB at once. With a budget, a request takes
 * a share of it before its body is read (limitBody, after authentication and the route's own
 * limit): its declared Content-Length at once, a chunked body's bytes as they arrive. When the
 * budget cannot cover them the request is refused with 503 OVERLOADED and Retry-After, before
 * anything of its body is used. The share is given back when the body has been read, or when
 * the request ends in any other way (answered without reading the body, refused, cut off by
 * its client, timed out), whichever comes first. What a handler then does with the bytes is
 * bounded by the route (its body limit) and the sequencer (`--queue`), not by this budget.
 *
 * Byte counts are plain numbers: a budget is at most a few GiB, far below 2^53.
 */
import type { HttpBindings } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';
import { AuditlogError } from '../errors.js';

/** Default for `serve --max-inflight-body-mib`: 1024 connections (the default cap) x a 64 KiB entry. */
export const DEFAULT_BODY_BUDGET_MIB = 64;

/** Bytes of one request's body held against a budget. */
export interface BodyShare {
  /**
   * Adds `n` bytes to the share if the budget has them free; returns false, adding nothing,
   * if it does not or the share was released. Requires `n` to be a non-negative integer.
   */
  grow(n: number): boolean;
  /** Gives the whole share back to the budget. Idempotent. */
  release(): void;
}

export class BodyBudget {
  #inUse = 0;

  /** Requires `limit` (bytes) to be a positive safe integer. */
  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit <= 0) {
      throw new AuditlogError('BAD_REQUEST', `body budget must be a positive integer, not ${limit}`);
    }
  }

  /** Bytes held by shares not yet released. */
  get inUse(): number {
    return this.#inUse;
  }

  /** A new share of 0 bytes. */
  share(): BodyShare {
    let held = 0;
    let open = true;
    return {
      grow: (n) => {
        if (!open || this.#inUse + n > this.limit) return false;
        this.#inUse += n;
        held += n;
        return true;
      },
      release: () => {
        if (!open) return;
        open = false;
        this.#inUse -= held;
        held = 0;
      },
    };
  }
}

/** The refusal for a body the budget cannot cover: 503 with Retry-After (problem.ts). */
export function overBudget(budget: BodyBudget): AuditlogError {
  const mib = Math.round((budget.limit / (1024 * 1024)) * 100) / 100;
  return new AuditlogError(
    'OVERLOADED',
    `the server is already receiving request bodies up to its limit of ${mib} MiB at once; retry later`,
  );
}

const KEY = 'bodyBudget';

/** Middleware making `budget` the one limitBody takes shares of, for every request it runs on. */
export function useBodyBudget(budget: BodyBudget): MiddlewareHandler {
  return async (c, next) => {
    c.set(KEY, budget);
    await next();
  };
}

/** The budget set by useBodyBudget, if any. */
export function bodyBudgetOf(c: Context): BodyBudget | undefined {
  return c.get(KEY) as BodyBudget | undefined;
}

/**
 * Calls `release` once the request's body has been read to its end or the request has closed
 * (node's `end` / `close` on the incoming message), when the app runs on @hono/node-server.
 * Returns a function that stops listening.
 */
export function onBodyDone(c: Context, release: () => void): () => void {
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  if (incoming === undefined || typeof incoming.once !== 'function') return () => {};
  if (incoming.readableEnded || incoming.destroyed) {
    release();
    return () => {};
  }
  incoming.once('end', release);
  incoming.once('close', release);
  return () => {
    incoming.off('end', release);
    incoming.off('close', release);
  };
}
