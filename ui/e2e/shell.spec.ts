/**
 * The app shell against the real bridge and server: sign-in (C1), the first download with
 * its progress (B6), the sitemap markers (C14) — green, and red with the reason after an
 * administrator switches an entity off —, the status footer and its flyout (C12), the
 * offline indicator (C15), the metadata prompt (C16), and the app at 1920×1080 in dark
 * mode. Each screen is checked with axe and saved as a screenshot.
 */
import { expect, test } from '@playwright/test';
import {
  bumpMetadata,
  dismissToast,
  env,
  invoke,
  network,
  openModule,
  ServerUser,
  slowNetwork,
  snapshot,
  syncFromFooter,
} from './helpers';

const SIGNED_OUT = {
  signed_in: false,
  server_url: null,
  username: null,
  online: true,
  pending_ops: 0,
  last_sync_at: null,
  signed_out_reason: null,
  sync_errors: 0,
  metadata_pending: null,
  user_id: null,
  offline_data: false,
  progress: null,
  recoveries: 0,
  device_id: null,
};

test.describe('the app shell', () => {
  test.afterEach(async ({ request }) => {
    await network(request, 'online');
  });

  test('the sign-in screen is accessible and says when the password is wrong', async ({ page }) => {
    // Whatever the bridge device's state, show the sign-in screen (the rest is real).
    await page.route('**/api/invoke/session_status', (route) => route.fulfill({ json: SIGNED_OUT }));
    await page.goto('/');
    await expect(page.getByTestId('signin-submit')).toBeVisible();
    await expect(page).toHaveTitle('Outpost');
    await snapshot(page, 'signin');
    await page.getByTestId('signin-server').fill(env('OUTPOST_SERVER_URL'));
    await page.getByTestId('signin-user').fill(env('OUTPOST_DEMO_USER'));
    await page.getByTestId('signin-password').fill('not-the-password');
    await page.getByTestId('signin-submit').click();
    await expect(page.getByTestId('signin-error')).toHaveText('Wrong user name or password');
    await expect(page.getByTestId('signin-password')).toBeVisible();
  });

  test('a new device signs in, downloads Field Sales with progress and shows the sitemap', async ({ page, request }) => {
    test.setTimeout(90_000);
    // A device never used before: what earlier specs left on the bridge device goes.
    const before = await invoke<{ signed_in: boolean; offline_data: boolean }>(page, 'session_status');
    if (before.signed_in || before.offline_data) {
      const discard = await invoke<object>(page, 'session_unsent');
      await invoke(page, 'session_sign_out', { wipe: true, discard });
    }
    await page.goto('/');
    await page.getByTestId('signin-server').fill(env('OUTPOST_SERVER_URL'));
    await page.getByTestId('signin-user').fill(env('OUTPOST_DEMO_USER'));
    await page.getByTestId('signin-password').fill(env('OUTPOST_DEMO_PASSWORD'));
    await page.getByTestId('signin-submit').click();
    await expect(page.getByTestId('modules')).toBeVisible({ timeout: 15_000 });
    await expect(page.getByTestId('module-field-sales')).toContainText('Works offline');

    await page.getByTestId('module-field-sales').click();
    const prompt = page.getByTestId('download-prompt');
    await expect(prompt).toContainText('Download its configuration and your records to this device now?');
    // Not downloaded yet is no error: no red bar anywhere.
    await expect(page.locator('[data-marker="unavailable"]')).toHaveCount(0);
    // A slow link (the server sends pages of 10): the download shows records and time left.
    await slowNetwork(request, 300);
    await page.getByTestId('download-start').click();
    await expect(prompt).toContainText('Downloading your data to this device');
    await expect(prompt.locator('progress')).toBeVisible();
    await expect(page.getByTestId('download-progress')).toHaveText(/^[1-9][\d,]* records? of [\d,]+ — .+ left$/);
    await snapshot(page, 'download');
    await slowNetwork(request, 0);
    await expect(prompt).toBeHidden({ timeout: 60_000 });

    // Every entity of the module is offline and available: a green bar each.
    const markers = page.locator('[data-testid^="sitemap-"][data-marker]');
    await expect(markers.first()).toBeVisible();
    await expect
      .poll(async () => markers.evaluateAll((els) => els.map((e) => e.getAttribute('data-marker'))), {
        message: 'every sitemap entity is available offline',
      })
      .toEqual(Array(await markers.count()).fill('available'));
    await expect(page.getByTestId('sitemap-account')).toContainText('(available offline)');
    await expect(page.getByTestId('status-state')).toHaveText(/Available offline$/);
    await expect(page.getByTestId('status-last-sync')).toHaveText(/^Last sync: /);
    await dismissToast(page);
    await snapshot(page, 'sitemap');
  });

  test('an entity the administrator switches off turns red with its reason, then green again', async ({ page, request }) => {
    test.setTimeout(90_000);
    await openModule(page, 'field-sales');
    const admin = await ServerUser.signIn(request, 'admin');
    const original = await admin.offlineSetting('phonecall');
    const item = page.getByTestId('sitemap-phonecall');
    await expect(item).toHaveAttribute('data-marker', 'available');
    try {
      await admin.setOffline({ ...original, enabled: false });
      await syncFromFooter(page);
      await expect(item).toHaveAttribute('data-marker', 'unavailable');
      await expect(item).toContainText('(not available offline)');
      await page.getByTestId('sitemap-why-phonecall').click();
      await expect(page.getByTestId('sitemap-reason-phonecall')).toContainText(
        'Your administrator has switched offline off',
      );
      await dismissToast(page);
      await snapshot(page, 'sitemap-unavailable');

      // The footer's flyout lists it with the reason.
      await page.getByTestId('status-state').click();
      const flyout = page.getByTestId('status-flyout');
      await expect(page.getByTestId('status-entity-phonecall')).toHaveText(
        /Phone Calls \(not available\) — Your administrator has switched offline off/,
      );
      await expect(page.getByTestId('status-entity-account')).toHaveText(/Accounts \(available\)/);
      await page.keyboard.press('Escape');
      await expect(flyout).toBeHidden();
    } finally {
      await admin.setOffline(original);
    }
    await syncFromFooter(page);
    await expect(item).toHaveAttribute('data-marker', 'available');
    await expect(page.getByTestId('sitemap-why-phonecall')).toHaveCount(0);
  });

  test('the offline indicator appears when the server cannot be reached and reconnects when tapped', async ({
    page,
    request,
  }) => {
    await openModule(page, 'field-sales');
    const indicator = page.getByTestId('offline-indicator');
    await expect(indicator).toBeHidden();
    await network(request, 'offline');
    await syncFromFooter(page);
    await expect(indicator).toHaveText(/Offline — tap to reconnect/);
    await dismissToast(page);
    await snapshot(page, 'offline');

    await network(request, 'online');
    // The sync time has seconds: anything from this second on is the reconnect's sync.
    const tappedAt = Math.floor(Date.now() / 1000) * 1000;
    await indicator.click();
    await expect(indicator).toBeHidden({ timeout: 30_000 });
    await expect(page.getByTestId('toast')).toContainText('Synced');
    const status = await invoke<{ last_sync_at: string | null }>(page, 'sync_status');
    expect(Date.parse(status.last_sync_at ?? ''), 'the reconnect synced').toBeGreaterThanOrEqual(tappedAt);
    const label = await page.evaluate(
      (iso) => `Last sync: ${new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })}`,
      status.last_sync_at ?? '',
    );
    await expect(page.getByTestId('status-last-sync')).toHaveText(label);
  });

  test('a metadata update waits for the user: the prompt, later, then the footer link', async ({ page, request }) => {
    test.setTimeout(90_000);
    await openModule(page, 'field-sales');
    const version = await bumpMetadata(request);
    await syncFromFooter(page);
    const prompt = page.getByTestId('metadata-prompt');
    await expect(prompt).toBeVisible({ timeout: 30_000 });
    await expect(prompt).toContainText(`version ${version}`);
    await snapshot(page, 'metadata-prompt');

    await page.getByTestId('metadata-later').click();
    await expect(prompt).toBeHidden();
    await dismissToast(page);
    const state = page.getByTestId('status-state');
    await expect(state).toHaveAttribute('data-state', 'available_warning');
    await expect(state).toHaveText(/an update is ready/);
    await state.click();
    const download = page.getByTestId('status-download-update');
    await expect(download).toHaveText('Download the update');
    await download.click();
    await expect(state).toHaveAttribute('data-state', 'available', { timeout: 30_000 });
    await expect(state).toHaveText(/Available offline$/);
    await expect(prompt).toBeHidden();
  });

  test('the footer flyout lists the entities enabled for offline and the reasons', async ({ page }) => {
    await openModule(page, 'field-sales');
    await dismissToast(page);
    await page.getByTestId('status-state').click();
    const flyout = page.getByTestId('status-flyout');
    await expect(flyout).toBeVisible();
    await expect(page.getByTestId('status-enabled')).toHaveText(/^\d+ entit(y|ies) of \d+ available offline$/);
    for (const plural of ['Accounts', 'Contacts', 'Leads', 'Opportunities', 'Tasks', 'Phone Calls', 'Appointments']) {
      await expect(flyout, `${plural} are listed`).toContainText(plural);
    }
    await snapshot(page, 'status-flyout');
    await page.getByTestId('status-state').click();
    await expect(flyout).toBeHidden();
  });

  test('the app at 1920×1080 in dark mode passes the accessibility checks', async ({ page }) => {
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await openModule(page, 'field-sales');
    await expect(page.getByTestId('sitemap-account')).toHaveAttribute('data-marker', 'available');
    expect(
      await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor),
      'the dark theme is in use',
    ).toBe('rgb(15, 19, 24)');
    await dismissToast(page);
    await snapshot(page, 'dark');
  });
});
