import { AxeBuilder } from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { fileURLToPath } from 'node:url';

// ui/e2e/ -> ui/../target/playwright/grid.png
const GRID_SCREENSHOT = fileURLToPath(new URL('../../target/playwright/grid.png', import.meta.url));

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set (the harness \`cargo xtask test\` exports it)`);
  }
  return value;
}

/** Fail on serious or critical axe violations, printing what they are. */
async function expectNoSeriousA11yViolations(page: Page, screen: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter(
    (v) => v.impact === 'serious' || v.impact === 'critical',
  );
  const summary = serious.map(
    (v) => `${v.impact}: ${v.id} — ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`,
  );
  expect(summary, `accessibility violations on the ${screen} screen`).toEqual([]);
}

/** Rows of the accounts grid (`row-{id}` on each <tr>). */
function gridRows(page: Page) {
  return page.getByTestId('accounts-grid').locator('tbody tr[data-testid^="row-"]');
}

/**
 * Open the app and make sure we end up on the accounts grid. The bridge may
 * already be signed in from an earlier test, so handle both screens.
 * Returns true when the sign-in form was shown (and used).
 */
async function openSignedIn(page: Page, onSignInScreen?: () => Promise<void>): Promise<boolean> {
  await page.goto('/');
  const grid = page.getByTestId('accounts-grid');
  const submit = page.getByTestId('signin-submit');
  await expect(grid.or(submit)).toBeVisible({ timeout: 15_000 });
  let signedInHere = false;
  if (await submit.isVisible()) {
    if (onSignInScreen) await onSignInScreen();
    await page.getByTestId('signin-server').fill(env('OUTPOST_SERVER_URL'));
    await page.getByTestId('signin-user').fill(env('OUTPOST_DEMO_USER'));
    await page.getByTestId('signin-password').fill(env('OUTPOST_DEMO_PASSWORD'));
    await submit.click();
    await expect(page.getByTestId('signin-error')).toHaveCount(0);
    signedInHere = true;
  }
  await expect(grid).toBeVisible({ timeout: 15_000 });
  return signedInHere;
}

test.describe('Outpost accounts', () => {
  test('sign-in screen has no serious accessibility violations', async ({ page }) => {
    // Whatever state the bridge is in, show the sign-in screen by answering
    // session_status as "signed out" (all other calls go to the real bridge).
    await page.route('**/api/invoke/session_status', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          signed_in: false,
          server_url: null,
          username: null,
          online: true,
          pending_ops: 0,
          last_sync_at: null,
        }),
      }),
    );
    await page.goto('/');
    await expect(page.getByTestId('signin-submit')).toBeVisible();
    await expect(page).toHaveTitle('Outpost');
    await expectNoSeriousA11yViolations(page, 'sign-in');
  });

  test('signs in and shows the demo accounts', async ({ page }) => {
    await openSignedIn(page, () => expectNoSeriousA11yViolations(page, 'sign-in'));
    await expect
      .poll(() => gridRows(page).count(), { message: 'at least 5 demo accounts in the grid' })
      .toBeGreaterThanOrEqual(5);
    await expect(page.getByTestId('status-online')).toHaveText(/^(Online|Offline)$/);
    await expectNoSeriousA11yViolations(page, 'accounts grid');
    await page.screenshot({ path: GRID_SCREENSHOT });
  });

  test('edits an account offline-first and syncs it', async ({ page }) => {
    await openSignedIn(page);
    await expect.poll(() => gridRows(page).count()).toBeGreaterThanOrEqual(5);

    const firstRow = gridRows(page).first();
    const testId = await firstRow.getAttribute('data-testid');
    expect(testId).toMatch(/^row-/);
    const id = (testId ?? '').slice('row-'.length);
    const newName = `Contoso ${Date.now()}`;

    await page.getByTestId(`edit-${id}`).click();
    const nameInput = page.getByTestId('edit-name');
    await expect(nameInput).toBeFocused();
    await nameInput.fill(newName);
    await page.getByTestId('edit-save').click();
    await expect(page.getByTestId('edit-name')).toHaveCount(0);
    await expect(page.getByTestId(`cell-name-${id}`)).toHaveText(newName);
    await expect(page.getByTestId(`pending-${id}`)).toBeVisible();
    await expect(page.getByTestId('status-pending')).not.toHaveText(/^No changes/);

    // The change is stored locally: it survives a reload.
    await page.reload();
    await expect(page.getByTestId(`cell-name-${id}`)).toHaveText(newName, { timeout: 15_000 });

    await page.getByTestId('sync-now').click();
    await expect(page.getByTestId('sync-message')).toHaveText(/Sync complete/, { timeout: 30_000 });
    await expect(page.getByTestId(`pending-${id}`)).toHaveCount(0);
    await expect(page.getByTestId('status-pending')).toHaveText(/\b0\b|No changes waiting/);
    await expect(page.getByTestId(`cell-name-${id}`)).toHaveText(newName);
    await expect(page.getByTestId('status-last-sync')).toHaveText(/^Last sync: /);
  });
});
