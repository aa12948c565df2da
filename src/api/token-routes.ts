/**
 * Token management, mounted under /v1 (spec/http-api.md "Tokens and roles"):
 *   GET  /tokens          admin   every token without secrets (a tenant admin sees its tenant's)
 *   POST /tokens          admin   {"role", "name"?, "tenant"?} → the new token, once
 *   POST /tokens/revoke   admin   {"name"} → the tokens revoked; durable before the answer
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { type AuthEnv, requireRole } from './auth.js';
import { limitBody } from './body-limit.js';
import { readJSON } from './request-body.js';
import { ROLES, TOKEN_NAME, type TokenStore } from './tokens.js';

const TokenRequest = z.strictObject({
  role: z.enum(ROLES),
  name: z.string().optional(),
  tenant: z.string().optional(),
});

const RevokeRequest = z.strictObject({
  name: z.string().regex(TOKEN_NAME, 'must be 1-64 of [A-Za-z0-9._:@-]'),
});

export function tokenRoutes(tokens: TokenStore): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  app.get('/tokens', requireRole(tokens, 'admin'), async (c) =>
    c.json({ tokens: await tokens.list(c.get('principal').tenant) }),
  );

  app.post('/tokens', requireRole(tokens, 'admin'), limitBody(4096), async (c) => {
    const req = await readJSON(c.req, TokenRequest);
    const { token, principal } = await tokens.create(req, c.get('principal'));
    // The answer holds the only copy of the secret: no cache may keep it.
    return c.json({ token, ...principal }, 201, { 'Cache-Control': 'no-store' });
  });

  app.post('/tokens/revoke', requireRole(tokens, 'admin'), limitBody(4096), async (c) => {
    const { name } = await readJSON(c.req, RevokeRequest);
    return c.json({ name, tokens: await tokens.revoke(name, c.get('principal')) });
  });

  return app;
}
