import { defineConfig } from '@playwright/test';

// The harness (`cargo xtask test`) starts the org server and the bridge, then
// exports OUTPOST_BRIDGE_URL (plus OUTPOST_SERVER_URL, OUTPOST_DEMO_USER and
// OUTPOST_DEMO_PASSWORD). There is deliberately no `webServer` entry here.
// The bridge answers commands only with its run's key (OUTPOST_BRIDGE_KEY, the `#key=`
// part of the address it printed): every page and request of the specs carries it, as the
// UI does once opened from that address (e2e/bridge.spec.ts checks that path itself).
const baseURL = process.env.OUTPOST_BRIDGE_URL;
const key = process.env.OUTPOST_BRIDGE_KEY;
if (baseURL === undefined || baseURL === '' || key === undefined || key === '') {
  throw new Error(
    'OUTPOST_BRIDGE_URL or OUTPOST_BRIDGE_KEY is not set. Run the end-to-end tests through ' +
      '`cargo xtask test`, or start `outpost bridge` yourself and export the address it prints ' +
      'as OUTPOST_BRIDGE_URL=http://127.0.0.1:<port> and OUTPOST_BRIDGE_KEY=<key> ' +
      '(plus OUTPOST_SERVER_URL, OUTPOST_DEMO_USER and OUTPOST_DEMO_PASSWORD).',
  );
}

export default defineConfig({
  testDir: 'e2e',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: 'list',
  outputDir: '../target/playwright/results',
  use: {
    baseURL,
    extraHTTPHeaders: { authorization: `Bearer ${key}` },
    headless: true,
    screenshot: 'off',
    viewport: { width: 1024, height: 768 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
