import { defineConfig } from '@playwright/test';

// The harness (`cargo xtask test`) starts the org server and the bridge, then
// exports OUTPOST_BRIDGE_URL (plus OUTPOST_SERVER_URL, OUTPOST_DEMO_USER and
// OUTPOST_DEMO_PASSWORD). There is deliberately no `webServer` entry here.
const baseURL = process.env.OUTPOST_BRIDGE_URL;
if (baseURL === undefined || baseURL === '') {
  throw new Error(
    'OUTPOST_BRIDGE_URL is not set. Run the end-to-end tests through `cargo xtask test`, ' +
      'or start the bridge yourself and export OUTPOST_BRIDGE_URL=http://127.0.0.1:<port> ' +
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
