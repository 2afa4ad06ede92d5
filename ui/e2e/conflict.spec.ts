/**
 * Conflicts for real (C11, B2): three accounts of this spec's own are changed on the
 * device while it is offline and, meanwhile, on the server by another device of the same
 * user; back online, the sync finds three conflicts. Each is resolved one way — keep
 * mine, take the server's (decided offline, sent at the next sync), edit and resubmit —
 * and the server ends with the value each resolution says. A change made to a record
 * while its conflict is open waits behind it and reaches the server after it.
 */
import { expect, test, type Page } from '@playwright/test';
import { dismissToast, invoke, network, openModule, ServerUser, snapshot } from './helpers';

const BEFORE = '555-0100';
const MINE = '555-0300';
const SERVERS = '555-0200';
const THIRD = '555-0400';

/** The row of one of this spec's errors in the list. */
function errorRow(page: Page, name: string) {
  return page.getByTestId('error-row').filter({ hasText: name });
}

test.afterEach(async ({ request }) => {
  await network(request, 'online');
});

test('conflicts found at sync are shown with "!" fields and resolved three ways', async ({ page, request }) => {
  test.setTimeout(120_000);
  await openModule(page, 'field-sales');
  const server = await ServerUser.signIn(request);

  // Three accounts of this run's own, made on the device and synced to the server.
  const stamp = Date.now().toString(36);
  const [keep, take, edit] = ['Keep', 'Take', 'Edit'].map((which) => `Conflict spec ${stamp} ${which}`) as [
    string,
    string,
    string,
  ];
  const ids: Record<string, string> = {};
  for (const name of [keep, take, edit]) {
    const row = await invoke<{ id: string }>(page, 'record_create', {
      entity: 'account',
      fields: { name, telephone1: BEFORE },
    });
    ids[name] = row.id;
  }
  const id = (name: string) => ids[name] as string;
  await invoke(page, 'sync_now');
  for (const name of [keep, take, edit]) {
    expect((await server.get('account', id(name))).telephone1, `${name} reached the server`).toBe(BEFORE);
  }

  // Offline, the device changes the phone; meanwhile the server's copy changes too.
  await network(request, 'offline');
  for (const name of [keep, take, edit]) {
    await invoke(page, 'record_update', { entity: 'account', id: id(name), fields: { telephone1: MINE } });
    await server.update('account', id(name), { telephone1: SERVERS });
  }
  await network(request, 'online');
  await page.getByTestId('sync-now').click();

  // The footer says so and leads to the list: three conflicts.
  const footerLink = page.getByTestId('status-errors');
  await expect(footerLink).toContainText(/\d+ sync errors?/, { timeout: 30_000 });
  await dismissToast(page);
  await footerLink.click();
  await expect(page).toHaveURL(/#\/errors$/);
  await expect(page.getByTestId('error-row').filter({ hasText: `Conflict spec ${stamp}` })).toHaveCount(3);
  for (const name of [keep, take, edit]) {
    await expect(errorRow(page, name)).toContainText('Conflict');
    await expect(errorRow(page, name)).toContainText('Account · Edited');
    await expect(errorRow(page, name)).toContainText('Changed on the server too: Main phone');
  }
  await snapshot(page, 'sync-errors');

  // A later change to the same record waits behind its conflict (B2).
  await invoke(page, 'record_update', { entity: 'account', id: id(keep), fields: { address1_city: 'Conflictville' } });
  await page.getByTestId('errors-refresh').click();
  await expect(errorRow(page, keep)).toContainText('1 change waiting behind it');
  expect((await server.get('account', id(keep))).address1_city, 'the parked change is held back').not.toBe(
    'Conflictville',
  );

  // The detail: the conflicting field side by side, each value marked "!".
  await errorRow(page, keep).click();
  await expect(page.getByTestId('error-detail')).toBeVisible();
  await expect(page.getByTestId('conflict-telephone1').locator('th')).toHaveText(/!\s*Conflict:\s*Main phone/);
  await expect(page.getByTestId('conflict-mine-telephone1')).toHaveText(new RegExp(`!\\s*${MINE}`));
  await expect(page.getByTestId('conflict-server-telephone1')).toHaveText(new RegExp(`!\\s*${SERVERS}`));
  await expect(page.getByTestId('conflict-before-telephone1')).toHaveText(BEFORE);
  await expect(page.getByTestId('error-waiting')).toContainText('1 later change to this record is held');
  await dismissToast(page);
  await snapshot(page, 'conflict');
  await page.emulateMedia({ colorScheme: 'dark' });
  await snapshot(page, 'conflict-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // Keep mine: the server gets the device's value, then the change that waited.
  await page.getByTestId('error-keep-mine').click();
  await expect(page).toHaveURL(/#\/errors$/);
  await expect(page.getByTestId('errors-notice')).toContainText('It reaches the server with the next sync');
  await page.getByTestId('errors-sync-now').click();
  await expect
    .poll(async () => (await server.get('account', id(keep))).telephone1, { message: 'mine reached the server' })
    .toBe(MINE);
  await expect
    .poll(async () => (await server.get('account', id(keep))).address1_city, {
      message: 'the change that waited reached the server after the resolution',
    })
    .toBe('Conflictville');
  await expect(errorRow(page, keep)).toHaveCount(0);

  // Take the server's, decided offline: kept on the device, sent at the next sync.
  await network(request, 'offline');
  await page.getByTestId('sync-now').click();
  await expect(page.getByTestId('offline-indicator')).toBeVisible({ timeout: 30_000 });
  await errorRow(page, take).click();
  await expect(page.getByTestId('error-offline-note')).toContainText('sent at the next sync');
  await page.getByTestId('error-take-server').click();
  await page.getByTestId('take-server-confirm-yes').click();
  await expect(page).toHaveURL(/#\/errors$/);
  await expect(page.getByTestId('errors-notice')).toContainText(
    'You are offline: it is kept on this device and sent at the next sync',
  );
  await expect(page.getByTestId('errors-resolved')).toContainText(take);
  const onDevice = await invoke<{ record: { fields: Record<string, string | null> } }>(page, 'record_get', {
    entity: 'account',
    id: id(take),
  });
  expect(onDevice.record.fields.telephone1, "the device shows the server's value at once").toBe(SERVERS);
  // The device keeps the resolution, not the page: a reload still lists it as waiting.
  await page.reload();
  await expect(page.getByTestId('errors-resolved')).toContainText(take);
  await network(request, 'online');
  await page.getByTestId('offline-indicator').click();
  await expect(page.getByTestId('toast')).toContainText('Synced', { timeout: 30_000 });
  await expect(page.getByTestId('offline-indicator')).toBeHidden();
  await expect(page.getByTestId('errors-resolved'), 'the sync carried the resolution').toBeHidden();
  expect((await server.get('account', id(take))).telephone1, "the server keeps its value").toBe(SERVERS);

  // Edit and resubmit: a third value, prefilled with mine, reaches the server.
  await errorRow(page, edit).click();
  await page.getByTestId('error-resubmit').click();
  const phone = page.getByLabel('Main phone');
  await expect(phone).toHaveValue(MINE);
  await expect(page.getByTestId('resubmit-form')).toContainText(`Server's value: ${SERVERS}`);
  await phone.fill(THIRD);
  await dismissToast(page);
  await snapshot(page, 'conflict-resubmit');
  await page.getByTestId('resubmit-submit').click();
  await expect(page).toHaveURL(/#\/errors$/);
  await page.getByTestId('errors-sync-now').click();
  await expect
    .poll(async () => (await server.get('account', id(edit))).telephone1, { message: 'the corrected value reached the server' })
    .toBe(THIRD);
  await expect(page.getByTestId('error-row').filter({ hasText: `Conflict spec ${stamp}` })).toHaveCount(0);
});
