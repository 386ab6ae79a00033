import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

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
