/**
 * The security headers of every answer (console pages, API, `/openapi.json`, errors, 404s), set
 * by @fastify/helmet. The Content-Security-Policy is the one the console (Vite, React, antd)
 * works under:
 * - scripts only from the server itself, never inline (`index.html` loads `/assets/*.js`);
 * - inline styles allowed: antd writes its CSS into `<style>` elements at run time;
 * - images from the server and `data:` URLs (the favicon is `data:,`);
 * - `fetch` to the server only (the API, the log stream);
 * - the workflow layout worker, a file of the build (`/assets/layout.worker-*.js`);
 * - no framing by any page (`frame-ancestors 'none'`, and `X-Frame-Options: DENY` for older
 *   browsers): the console cannot be put under another site's clickjacking overlay.
 *
 * Helmet's default `upgrade-insecure-requests` is left out: ecron is often served over plain HTTP
 * (127.0.0.1, a private network), where it would send the console's requests to an https:// that
 * does not answer. HSTS is left out too: it belongs to whatever terminates TLS in front of ecron,
 * and would pin every subdomain to HTTPS for a year.
 */
import type { FastifyHelmetOptions } from '@fastify/helmet';

const SELF = "'self'";

export const SECURITY_HEADERS: FastifyHelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      'default-src': [SELF],
      'script-src': [SELF],
      'script-src-attr': ["'none'"],
      'style-src': [SELF, "'unsafe-inline'"],
      'img-src': [SELF, 'data:'],
      'font-src': [SELF, 'data:'],
      'connect-src': [SELF],
      'worker-src': [SELF],
      'object-src': ["'none'"],
      'base-uri': [SELF],
      'form-action': [SELF],
      'frame-ancestors': ["'none'"],
    },
  },
  frameguard: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
  strictTransportSecurity: false,
};
