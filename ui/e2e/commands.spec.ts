/**
 * The record's commands against the real bridge and server (C5, C10): a lead qualified
 * offline makes its account, contact and opportunity on the device at once, and after
 * reconnecting the server has them under the same ids; another lead is disqualified
 * with a reason; a task is marked complete from its form.
 *
 * The records are this spec's own: made on the server under fiona with names no other
 * spec uses, then brought to the device by a sync.
 */
import { expect, test } from '@playwright/test';
import { createOnServer, deviceSync, network, openModule, openRecord, ServerUser, snapshot, trySync } from './helpers';

const stamp = Date.now().toString(36);

test.describe('record commands', () => {
  test.afterEach(async ({ request }) => {
    await network(request, 'online');
  });

  test('a lead qualified offline creates its records at once; they reach the server under the same ids', async ({
    page,
    request,
  }) => {
    await openModule(page, 'field-sales');
    const company = `Cmdspec Qualify Co ${stamp}`;
    const lead = await createOnServer(request, 'lead', {
      subject: `Cmdspec qualify ${stamp}`,
      firstname: 'Quinn',
      lastname: `Qualify${stamp}`,
      companyname: company,
      estimatedvalue: '12000',
    });
    await deviceSync(page);

    await network(request, 'offline');
    await trySync(page);
    await openRecord(page, 'lead', lead, `Quinn Qualify${stamp}`);
    await expect(page.getByTestId('offline-indicator')).toBeVisible({ timeout: 15_000 });

    await page.getByTestId('command-qualify').click();
    const dialog = page.getByTestId('command-dialog-qualify');
    await expect(dialog.getByTestId('qualify-account')).toBeChecked();
    await expect(dialog.getByTestId('qualify-contact')).toBeChecked();
    await expect(dialog.getByTestId('qualify-opportunity')).toBeChecked();
    await snapshot(page, 'qualify-dialog');
    await dialog.getByTestId('command-submit').click();
    await expect(dialog).toBeHidden();

    const created = page.getByTestId('created');
    await expect(created.getByRole('link')).toHaveCount(3);
    const account = await created.getByTestId('created-account').getAttribute('data-id');
    const contact = await created.getByTestId('created-contact').getAttribute('data-id');
    const opportunity = await created.getByTestId('created-opportunity').getAttribute('data-id');
    expect([account, contact, opportunity].every((id) => id !== null && id !== ''), 'each created record has its id').toBe(true);
    await expect(created.getByTestId('created-account')).toHaveText(company);
    await expect(page.getByTestId('readonly-badge')).toBeVisible();
    await expect(page.getByTestId('command-qualify')).toHaveCount(0);

    // The new account is there offline, under its id.
    await created.getByTestId('created-account').click();
    await expect(page.getByTestId('record-title')).toHaveText(company);
    await expect(page.getByTestId('pending-badge')).toBeVisible();

    await network(request, 'online');
    await page.getByTestId('offline-indicator').click();
    await expect(page.getByTestId('pending-badge')).toBeHidden({ timeout: 20_000 });
    const server = await ServerUser.signIn(request);
    expect((await server.get('account', account ?? '')).name).toBe(company);
    expect((await server.get('contact', contact ?? '')).lastname).toBe(`Qualify${stamp}`);
    expect((await server.get('opportunity', opportunity ?? '')).customerid).toBe(`account:${account}`);
    const qualified = await server.get('lead', lead);
    expect(qualified.statecode, 'the lead is qualified on the server').toBe('1');
    expect(qualified.qualifyingopportunityid).toBe(`opportunity:${opportunity}`);
  });

  test('a lead is disqualified with a reason', async ({ page, request }) => {
    await openModule(page, 'field-sales');
    const lead = await createOnServer(request, 'lead', {
      subject: `Cmdspec disqualify ${stamp}`,
      firstname: 'Dana',
      lastname: `Disqualify${stamp}`,
    });
    await deviceSync(page);
    await openRecord(page, 'lead', lead, `Dana Disqualify${stamp}`);

    await page.getByTestId('command-disqualify').click();
    const dialog = page.getByTestId('command-dialog-disqualify');
    await dialog.getByTestId('command-submit').click();
    await expect(dialog.getByTestId('command-error')).toHaveText(/Choose why the lead is disqualified/);
    await dialog.getByLabel('Reason').selectOption({ label: 'Cannot Contact' });
    await dialog.getByTestId('command-submit').click();
    await expect(dialog).toBeHidden();
    await expect(page.getByTestId('command-message')).toHaveText(/The lead is disqualified/);
    await expect(page.getByTestId('readonly-badge')).toBeVisible();

    await deviceSync(page);
    const fields = await (await ServerUser.signIn(request)).get('lead', lead);
    expect(fields.statecode, 'disqualified').toBe('2');
    expect(fields.statuscode, 'with the reason chosen').toBe('5');
  });

  test('a task is marked complete from its form', async ({ page, request }) => {
    await openModule(page, 'field-sales');
    const subject = `Cmdspec call back ${stamp}`;
    const task = await createOnServer(request, 'task', { subject });
    await deviceSync(page);
    await openRecord(page, 'task', task, subject);

    await page.getByTestId('command-mark_complete').click();
    await expect(page.getByTestId('command-message')).toHaveText(/marked complete/);
    await expect(page.getByTestId('command-mark_complete')).toHaveCount(0);
    await expect(page.getByTestId('readonly-badge')).toBeVisible();

    await deviceSync(page);
    expect((await (await ServerUser.signIn(request)).get('task', task)).statecode, 'completed on the server').toBe('1');
  });
});
