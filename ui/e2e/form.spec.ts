/**
 * The record form against the real bridge and server (C3, C4, C6, C10): an account
 * edited online and then offline is replayed on reconnect and the server has both
 * values; a lookup is chosen through the dialog; an opportunity's process flow moves
 * next and back, with a required step blocking Next until it is filled.
 *
 * The records are this spec's own: made on the server under fiona with names no other
 * spec uses, then brought to the device by a sync.
 */
import { expect, test } from '@playwright/test';
import { createOnServer, deviceSync, network, openModule, openRecord, ServerUser, snapshot, trySync } from './helpers';

const stamp = Date.now().toString(36);

test.describe('the record form', () => {
  test.afterEach(async ({ request }) => {
    await network(request, 'online');
  });

  test('an edit made offline is kept, marked not synced, and replayed on reconnect', async ({ page, request }) => {
    await openModule(page, 'field-sales');
    const name = `Formspec Replay ${stamp}`;
    const id = await createOnServer(request, 'account', { name, telephone1: '555 0100' });
    await deviceSync(page);
    await openRecord(page, 'account', id, name);

    // Online: the change goes to the server in the background.
    await page.locator('#form-field-telephone1').fill('555 0111');
    await expect(page.getByTestId('unsaved-badge')).toBeVisible();
    await page.getByTestId('record-save').click();
    await expect(page.getByTestId('unsaved-badge')).toBeHidden();

    // Offline for real: the device cannot reach the server.
    await network(request, 'offline');
    await trySync(page);
    await expect(page.getByTestId('offline-indicator')).toBeVisible({ timeout: 15_000 });

    await page.locator('#form-field-address1_city').fill('Tromsø');
    await page.getByTestId('record-save').click();
    await expect(page.getByTestId('pending-badge')).toHaveText(/Not synced yet/);
    await expect(page.locator('#form-field-address1_city')).toHaveValue('Tromsø');
    await page.getByTestId('record-title').scrollIntoViewIfNeeded();
    await snapshot(page, 'form');

    // Back online: tapping the indicator reconnects and replays the change.
    await network(request, 'online');
    await page.getByTestId('offline-indicator').click();
    await expect(page.getByTestId('pending-badge')).toBeHidden({ timeout: 20_000 });
    const server = await ServerUser.signIn(request);
    const fields = await server.get('account', id);
    expect(fields.telephone1, 'the online edit reached the server').toBe('555 0111');
    expect(fields.address1_city, 'the offline edit was replayed').toBe('Tromsø');
  });

  test('a lookup is chosen through the dialog from the records on the device', async ({ page, request }) => {
    await openModule(page, 'field-sales');
    const name = `Formspec Lookup ${stamp}`;
    const lastname = `Lookupperson${stamp}`;
    const id = await createOnServer(request, 'account', { name });
    const contactId = await createOnServer(request, 'contact', { firstname: 'Lena', lastname });
    await deviceSync(page);
    await openRecord(page, 'account', id, name);

    await page.getByTestId('lookup-primarycontactid').click();
    const dialog = page.getByTestId('lookup-dialog');
    await expect(dialog).toBeVisible();
    await dialog.getByTestId('lookup-search').fill(lastname);
    await expect(dialog.getByTestId('lookup-option')).toHaveCount(1);
    await dialog.getByTestId('lookup-search').press('Enter');
    await expect(dialog).toBeHidden();
    await expect(page.getByTestId('lookup-primarycontactid')).toContainText(lastname);
    await page.getByTestId('record-save').click();
    await expect(page.getByTestId('unsaved-badge')).toBeHidden();

    await deviceSync(page);
    const server = await ServerUser.signIn(request);
    expect((await server.get('account', id)).primarycontactid).toBe(`contact:${contactId}`);
  });

  test('the process flow moves next and back; an empty required step blocks Next', async ({ page, request }) => {
    await openModule(page, 'field-sales');
    const account = await createOnServer(request, 'account', { name: `Formspec Flow Customer ${stamp}` });
    const name = `Formspec Flow ${stamp}`;
    const id = await createOnServer(request, 'opportunity', { name, customerid: `account:${account}` });
    await deviceSync(page);
    await openRecord(page, 'opportunity', id, name);

    const bar = page.getByTestId('flow-bar');
    await expect(bar.getByTestId('flow-active')).toContainText('Stage 1 of 4: Qualify');
    await bar.getByTestId('flow-next').click();
    await expect(bar.getByTestId('flow-message')).toContainText('Qualify needs Est. revenue');

    await bar.locator('#flow-field-estimatedvalue').fill('48000');
    await bar.getByTestId('flow-next').click();
    await expect(bar.getByTestId('flow-active')).toContainText('Stage 2 of 4: Develop');
    await expect(bar.getByTestId('flow-stage-sales-develop')).toHaveAttribute('aria-current', 'step');
    await snapshot(page, 'form-flow');

    await bar.getByTestId('flow-previous').click();
    await expect(bar.getByTestId('flow-active')).toContainText('Stage 1 of 4: Qualify');

    await deviceSync(page);
    const server = await ServerUser.signIn(request);
    const fields = await server.get('opportunity', id);
    expect(fields.estimatedvalue, 'the step typed in the flow bar was saved').toMatch(/^48000(\.0+)?$/);
    expect(fields.activestageid, 'next then previous lands on the first stage').toBe('sales-qualify');
  });
});
