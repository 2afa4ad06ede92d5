/**
 * Drafts mode against the real bridge and server (C17): in Quick Capture (a *drafts*
 * module) a new account is made as a draft while the device is offline, listed, kept
 * when a save is tried offline, and saved to the server once online — it leaves the list,
 * the server has it under the draft's id, and it is kept among the recently opened.
 */
import { expect, test } from '@playwright/test';
import { network, openModule, ServerUser, snapshot, trySync } from './helpers';

const stamp = Date.now().toString(36);

test.describe('offline drafts', () => {
  test.afterEach(async ({ request }) => {
    await network(request, 'online');
  });

  test('a draft made offline is saved to the server once online, under its own id', async ({ page, request }) => {
    await openModule(page, 'quick-capture');
    await network(request, 'offline');
    await trySync(page);

    await page.getByTestId('sitemap-drafts').click();
    await expect(page.getByTestId('drafts-page')).toBeVisible();
    await expect(page.getByTestId('drafts-offline')).toBeVisible({ timeout: 15_000 });

    // A new draft, checked before it is kept.
    await page.getByTestId('new-draft-account').click();
    const form = page.getByTestId('draft-form');
    await expect(form).toBeVisible();
    await form.getByTestId('draft-keep').click();
    await expect(form.locator('#form-field-name')).toHaveAttribute('aria-invalid', 'true');
    await expect(form.getByTestId('field-error-name')).toHaveText(/Account name is required/);
    const name = `Draftspec Kiosk ${stamp}`;
    await form.locator('#form-field-name').fill(name);
    await form.locator('#form-field-telephone1').fill('555 0142');
    await form.getByTestId('draft-keep').click();

    // Listed; a save while offline keeps it, saying why.
    const item = page.getByTestId('drafts-list').locator('li', { hasText: name });
    await expect(item).toBeVisible();
    const id = ((await item.getAttribute('data-testid')) ?? '').replace(/^draft-/, '');
    expect(id, 'the draft has the id its record will have').not.toBe('');
    await item.getByTestId('draft-save').click();
    await expect(item.getByTestId('draft-message')).toHaveText(/You are offline/);
    await expect(item).toBeVisible();
    await snapshot(page, 'drafts');

    // Online: saved one by one, it leaves the list and the server has it.
    await network(request, 'online');
    await item.getByTestId('draft-save').click();
    await expect(page.getByTestId(`draft-${id}`)).toHaveCount(0, { timeout: 15_000 });
    const fields = await (await ServerUser.signIn(request)).get('account', id);
    expect(fields.name).toBe(name);
    expect(fields.telephone1).toBe('555 0142');

    // Kept among the recently opened, readable offline.
    await network(request, 'offline');
    await page.getByTestId('recent-list').getByRole('link', { name: new RegExp(name) }).click();
    await expect(page.getByTestId('recent-page')).toBeVisible();
    await expect(page.getByTestId('record-title')).toHaveText(name);
    await expect(page.locator('#form-field-telephone1')).toHaveValue('555 0142');
  });
});
