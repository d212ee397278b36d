// GET /docs in a real browser (Debian's chromium, headless, driven by
// puppeteer-core): the operations render from /openapi.json, POST /checkout
// shows its answers without a click, nothing is fetched from elsewhere (the
// page works offline) and the CSP refuses nothing. A screenshot is left in
// test-output/docs-page.png for a person to look at.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'puppeteer-core' with { 'resolution-mode': 'import' };
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATIONS } from '../../api/openapi/document';
import { requireChromium } from '../../stack/toolchain';
import { startTestStack, type TestStack } from '../support/stack';

const SCREENSHOT = path.join(__dirname, '..', '..', 'test-output', 'docs-page.png');

let stack: TestStack;
let browser: Browser;

beforeAll(async () => {
  // fails here, with what to do, when there is no chromium: never a skip
  const executablePath = requireChromium(process.env.CHROMIUM_PATH);
  stack = await startTestStack();
  // puppeteer-core is an ES module only
  const { default: puppeteer } = await import('puppeteer-core');
  browser = await puppeteer.launch({
    executablePath,
    headless: true,
    args: [
      // Chromium will not start its sandbox as root (as tests run in containers
      // and CI); the page it opens is our own, from 127.0.0.1
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      // a container's /dev/shm is often too small for Chromium's shared memory
      '--disable-dev-shm-usage',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('the /docs page', () => {
  it('renders every operation; POST /checkout shows 201, 402, 422 and 429 without a click; nothing comes from elsewhere', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    const elsewhere: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (err) => problems.push(String(err)));
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      // data: URLs are the stylesheet's own icons, not fetches
      if (request.url().startsWith(`${stack.api.url}/`) || request.url().startsWith('data:')) {
        void request.continue();
      } else {
        elsewhere.push(request.url());
        void request.abort();
      }
    });
    await page.setViewport({ width: 1280, height: 900 });

    await page.goto(`${stack.api.url}/docs`, { waitUntil: 'networkidle0' });
    // page scripts as text: this project's TypeScript has no DOM types
    await page.waitForFunction(`document.querySelectorAll('.opblock').length >= ${OPERATIONS.length}`, { timeout: 30_000 });

    const checkout = '#operations-Checkout-createCheckout';
    const summary = await page.$eval(`${checkout} .opblock-summary`, (el) => el.textContent ?? '');
    expect(summary).toContain('POST');
    expect(summary).toContain('/checkout');
    // the answers shown, not just present: docExpansion 'full' opens them
    const codes = (await page.evaluate(
      `[...document.querySelectorAll('${checkout} tr.response')].filter((row) => row.offsetParent !== null).map((row) => row.getAttribute('data-code'))`,
    )) as string[];
    expect(codes).toEqual(expect.arrayContaining(['201', '402', '422', '429']));
    const rendered = (await page.evaluate(`document.querySelectorAll('.opblock').length`)) as number;
    expect(rendered).toBe(OPERATIONS.length);

    // the page's top down to the end of POST /checkout's answers
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    const bottom = (await page.evaluate(`document.querySelector('${checkout}').getBoundingClientRect().bottom + window.scrollY`)) as number;
    await page.screenshot({ path: SCREENSHOT, clip: { x: 0, y: 0, width: 1280, height: Math.ceil(bottom) + 16 }, captureBeyondViewport: true });
    console.log(`[docs page] ${rendered} operations rendered; POST /checkout answers ${codes.join(', ')}; screenshot: ${SCREENSHOT}`);

    expect(elsewhere).toEqual([]);
    expect(problems).toEqual([]);
  });
});
