// Renders a drill's SVG chart to a PNG with Debian's chromium (the one the /docs
// browser test uses), so a report opens anywhere an image does.
import fs from 'node:fs';
import { requireChromium } from '../stack/toolchain';
import { svgSize } from './chart';

export async function svgToPng(svgPath: string, pngPath: string): Promise<void> {
  const svg = fs.readFileSync(svgPath, 'utf8');
  const { width, height } = svgSize(svg);
  // puppeteer-core is an ES module only
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({
    executablePath: requireChromium(process.env.CHROMIUM_PATH),
    headless: true,
    // no sandbox as root (Chromium refuses it); the page is our own file, with no script
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width, height });
    await page.setJavaScriptEnabled(false);
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    await page.screenshot({ path: pngPath as `${string}.png`, clip: { x: 0, y: 0, width, height } });
  } finally {
    await browser.close();
  }
}
