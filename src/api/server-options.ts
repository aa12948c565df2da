/**
 * Timeouts of the HTTP servers (log and witness): a client must send its whole request within
 * `requestTimeoutS` seconds and its headers within 20 (or the request timeout, if shorter);
 * past that node answers 408 and closes the connection. Without them a client trickling a large
 * body a byte at a time would hold its connection, and the body buffered so far, for node's
 * default of 300 s. Node checks the deadlines every `connectionsCheckingInterval`, here at
 * most half the request timeout (node's default, 30 s, would let a short timeout run long).
 * Requires requestTimeoutS >= 1.
 */
import type { ServerOptions } from 'node:http';

/** Default for `serve --request-timeout` and the witness server, in seconds. */
export const DEFAULT_REQUEST_TIMEOUT_S = 60;

export function httpServerOptions(requestTimeoutS: number = DEFAULT_REQUEST_TIMEOUT_S): ServerOptions {
  const requestTimeout = requestTimeoutS * 1000;
  return {
    requestTimeout,
    headersTimeout: Math.min(20_000, requestTimeout - 1),
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(requestTimeout / 2))),
  };
}

/**
 * Default for `serve --max-connections` and `witness --max-connections`: most connections the
 * server keeps open at once (node's `server.maxConnections`; more are closed as soon as they
 * are accepted, without an answer). Every connection holds a socket, a file descriptor and
 * node's parser state, and an idle keep-alive connection counts until node closes it (5 s).
 * 1024 is four times the most concurrent clients the benchmark drives (256), and 1024 entries
 * of the largest size (64 KiB) make the log's default body budget (body-budget.ts).
 */
export const DEFAULT_MAX_CONNECTIONS = 1024;
