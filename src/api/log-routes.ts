/**
 * The C2SP tlog-tiles read API: /checkpoint, /tile/<L>/<N>[.p/<W>], /tile/entries/<N>[.p/<W>].
 * Full tiles and partial tiles of a given width never change, so both are served immutable.
 */
import { Hono } from 'hono';
import { AuditlogError } from '../errors.js';
import { parseTilePath, TILE_WIDTH, tileWidth } from '../merkle/tiles.js';
import type { Log } from '../sequencer/log.js';

/**
 * Who may cache a response: any cache, or with `privateReads` (every read needs a token) only the
 * client's own. RFC 9111 section 3.5: `public` would let a shared cache (a CDN, a proxy) answer
 * later requests without a token from a response to one with a token.
 */
function cacheControl(privateReads: boolean, maxAge: string): string {
  return `${privateReads ? 'private' : 'public'}, ${maxAge}`;
}

export interface CheckpointSource {
  /** The checkpoint note to serve (the log's, possibly with witness cosignatures added). */
  checkpointNote(): string;
}

export function tileRoutes(log: Log, source: CheckpointSource, privateReads = false): Hono {
  const app = new Hono();
  const immutable = cacheControl(privateReads, 'max-age=31536000, immutable');
  const checkpoint = cacheControl(privateReads, 'max-age=2');
  app.get('/checkpoint', (c) => {
    c.header('Cache-Control', checkpoint);
    return c.text(source.checkpointNote(), 200, { 'Content-Type': 'text/plain; charset=utf-8' });
  });
  app.get('/tile/*', async (c) => {
    // hono's c.req.path is percent-decoded, which would let /tile/0/%30%30%30 pass for the
    // canonical /tile/0/000; tlog-tiles paths have exactly one spelling, and it has no '%'.
    if (c.req.url.includes('%')) throw new AuditlogError('BAD_REQUEST', 'bad tile path: percent-encoded');
    const id = parseTilePath(c.req.path.slice(1));
    const size = log.latest().size;
    if (id.level === 'entries') {
      if (tileWidth(0, id.index, size) < id.width)
        throw new AuditlogError('NOT_FOUND', 'entry bundle beyond the tree');
      const bundle = await log.readBundle(id.index, id.width);
      if (!bundle) throw new AuditlogError('NOT_FOUND', 'entry bundle not found');
      return c.body(bundle as Uint8Array<ArrayBuffer>, 200, {
        'Content-Type': 'application/octet-stream',
        'Cache-Control': immutable,
      });
    }
    const available = tileWidth(id.level, id.index, size);
    if (available < id.width || (id.width === TILE_WIDTH && available !== TILE_WIDTH)) {
      throw new AuditlogError('NOT_FOUND', 'tile beyond the tree');
    }
    const tile = await log.readTile(id.level, id.index, id.width);
    if (!tile) throw new AuditlogError('NOT_FOUND', 'tile not found');
    return c.body(tile as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': 'application/octet-stream',
      'Cache-Control': immutable,
    });
  });
  return app;
}
