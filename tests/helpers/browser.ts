import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';

/** Where screenshots go, for a person to look at after the run. */
export const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'test-output', 'e2e');

/**
 * Debian's Chromium, headless, driven by playwright-core (no browser download: there is no network for it).
 * The background-networking flags keep it from trying to reach Google's hosts on a closed network.
 */
export async function launchChromium(): Promise<Browser> {
  await mkdir(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export const screenshot = (name: string): string => join(SCREENSHOTS, `${name}.png`);

/**
 * A signed-in dashboard page in a fresh context (a phone by default), watching for Content-Security-Policy violations:
 * each one seen — as a report or as the error it raises — is pushed to `cspViolations`, which the test then expects empty.
 */
export async function signInPage(
  browser: Browser,
  o: { baseUrl: string; username: string; password: string; cspViolations: string[]; viewport?: { width: number; height: number } },
): Promise<Page> {
  const context = await browser.newContext({ viewport: o.viewport ?? { width: 412, height: 915 }, acceptDownloads: true });
  await context.addInitScript(
    `document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI))`,
  );
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|CSP violation/i.test(message.text()))
      o.cspViolations.push(`${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => {
    if (error.name === 'EvalError' || /Content Security Policy/i.test(error.message))
      o.cspViolations.push(`${page.url()}: ${error.name}: ${error.message}`);
  });
  await page.goto(o.baseUrl);
  await page.getByTestId('login-username').fill(o.username);
  await page.getByTestId('login-password').fill(o.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('me').waitFor();
  return page;
}
