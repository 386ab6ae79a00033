import { z } from 'zod';

/**
 * The dashboard's CSP forbids eval (script-src 'self'), and zod's generated object parsers need it: parse without them.
 * Zod decides when a schema is built, so this module is imported first (main.tsx), before any contract schema exists.
 */
z.config({ jitless: true });
