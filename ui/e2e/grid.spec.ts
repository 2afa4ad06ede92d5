/**
 * Grids (C7, C13, C5 from the grid): fiona's accounts with their views, sorts, quick
 * filter and total; a phone call view long enough to page (this spec's own calls, far in
 * the future so they sort after everyone else's); Mark complete on two tasks of this
 * spec's own (made on the server, pulled, completed offline-first, replayed).
 */
import { expect, test, type Page } from '@playwright/test';
import { dismissToast, network, openModule, snapshot, ServerUser, syncFromFooter } from './helpers';

/** This spec's records: ids no other spec or the demo uses (`…-0e2e-…`). */
const PAGING_CALLS = 130;
const pagingId = (i: number) => `00000000-0e2e-7000-8000-${String(i).padStart(12, '0')}`;
const pagingSubject = (i: number) => `Gridspec paging ${String(i).padStart(3, '0')}`;

test.afterEach(async ({ request }) => {
  await network(request, 'online');
});

/** Syncs the device now from the footer, waits until it says it did, and closes the message. */
async function syncDevice(page: Page): Promise<void> {
  await syncFromFooter(page, 'Synced');
  await dismissToast(page);
}

async function openGrid(page: Page, entity: string, title: string): Promise<void> {
  await page.getByTestId(`sitemap-${entity}`).getByRole('link').click();
  await expect(page.getByRole('heading', { level: 2, name: title })).toBeVisible();
  await expect(page.getByTestId('grid-row').first().or(page.getByTestId('grid-empty'))).toBeVisible();
  await expect(page.getByTestId('grid')).not.toHaveAttribute('aria-busy', 'true');
}

/** The text of one column in the rows on the page, top to bottom. */
async function column(page: Page, name: string): Promise<string[]> {
  return page.getByTestId('grid-row').locator(`[data-column="${name}"] .text`).allTextContents();
}

function sorted(values: string[], dir: 'asc' | 'desc'): boolean {
  return values.every((v, i) => i === 0 || (dir === 'asc' ? values[i - 1]! <= v : values[i - 1]! >= v));
}

test.describe('grids', () => {
  test('accounts: total, views, sort both ways, quick filter, last sync time', async ({ page }) => {
    await openModule(page, 'field-sales');
    await openGrid(page, 'account', 'Accounts');
    const total = page.getByTestId('grid-total');
    await expect(total).toHaveText(/^\d[\d,]* accounts?$/);
    await expect(page.getByTestId('grid-view')).toHaveValue('account-my-active');
    await expect(page.getByTestId('grid-last-sync')).toContainText('Data as of');
    await expect(page.getByRole('columnheader', { name: /Account name/ })).toHaveAttribute('aria-sort', 'ascending');
    await expect(page.getByRole('columnheader', { name: /Owner/ })).toBeVisible();
    // The owner column shows a name, not a reference.
    await expect(page.getByTestId('grid-row').first().locator('[data-column="ownerid"]')).toHaveText(/\w+ \w+/);
    expect(
      await page.getByTestId('grid').evaluate((el) => el.scrollWidth <= el.clientWidth),
      'every column fits at 1024×768',
    ).toBe(true);
    const names = await column(page, 'name');
    expect(names.length, 'fiona has accounts on the device').toBeGreaterThan(1);
    expect(sorted(names, 'asc'), `the default view is sorted by name: ${names.join(' | ')}`).toBe(true);
    const toast = page.getByTestId('toast').getByRole('button', { name: 'Dismiss' });
    if (await toast.isVisible()) await toast.click();
    await snapshot(page, 'grid');

    // Sort by name the other way, then back (header click, then Enter on it).
    await page.getByTestId('grid-sort-name').click();
    await expect(page.getByRole('columnheader', { name: /Account name/ })).toHaveAttribute('aria-sort', 'descending');
    await expect.poll(() => column(page, 'name')).toEqual([...names].reverse());
    await page.getByTestId('grid-sort-name').press('Enter');
    await expect(page.getByRole('columnheader', { name: /Account name/ })).toHaveAttribute('aria-sort', 'ascending');
    await expect.poll(() => column(page, 'name')).toEqual(names);

    // Sort by city, both ways.
    await page.getByTestId('grid-sort-address1_city').click();
    await expect.poll(async () => sorted(await column(page, 'address1_city'), 'asc')).toBe(true);
    await page.getByTestId('grid-sort-address1_city').click();
    await expect(page.getByRole('columnheader', { name: /City/ })).toHaveAttribute('aria-sort', 'descending');
    await expect.poll(async () => sorted(await column(page, 'address1_city'), 'desc')).toBe(true);

    // Another view: its own columns and order.
    await page.getByTestId('grid-view').selectOption({ label: 'Accounts on Credit Hold' });
    await expect(page.getByRole('columnheader', { name: /Credit hold/ })).toBeVisible();
    await expect(page.getByRole('columnheader', { name: /Annual revenue/ })).toHaveAttribute('aria-sort', 'descending');
    await expect(page.getByRole('columnheader', { name: /City/ })).toHaveCount(0);
    await expect(page.getByTestId('grid-row').first().or(page.getByTestId('grid-empty'))).toBeVisible();
    for (const cell of await column(page, 'creditonhold')) expect(cell).toBe('Yes');

    // The quick filter narrows the default view to the accounts with that word.
    await page.getByTestId('grid-view').selectOption('account-my-active');
    await expect.poll(() => column(page, 'name')).toEqual(names);
    const word = (names.find((n) => /^[A-Za-z]{3,}/.test(n)) ?? names[0]!).split(/[^A-Za-z0-9]+/)[0]!;
    await page.getByTestId('grid-filter').fill(word);
    await expect(total).toContainText(`matching “${word}”`);
    const matching = await column(page, 'name');
    expect(matching.length).toBeGreaterThan(0);
    expect(matching.length).toBeLessThanOrEqual(names.length);
    // (quick find also looks at the number, phone and email; the name usually has the word)
    expect(matching.some((n) => n.toLowerCase().includes(word.toLowerCase()))).toBe(true);
    await page.getByTestId('grid-filter').fill('zzqx-no-such-account');
    await expect(page.getByTestId('grid-empty')).toContainText('match “zzqx-no-such-account”');
    await page.getByRole('button', { name: 'Clear the filter' }).click();
    await expect.poll(() => column(page, 'name')).toEqual(names);

    // Keyboard: Tab to the grid, arrows move, Space selects, Enter opens.
    await page.getByTestId('grid').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Space');
    await expect(page.getByTestId('grid-selection')).toContainText('1 selected');
    await expect(page.getByTestId('grid-row').nth(1)).toHaveAttribute('aria-selected', 'true');
    await page.keyboard.press('Enter');
    await expect(page).toHaveURL(/#\/record\/account\//);
  });

  test('the accounts grid at 1920×1080 shows every column without scrolling sideways', async ({ page }) => {
    await page.setViewportSize({ width: 1920, height: 1080 });
    await openModule(page, 'field-sales');
    await openGrid(page, 'account', 'Accounts');
    const grid = page.getByTestId('grid');
    const fits = await grid.evaluate((el) => el.scrollWidth <= el.clientWidth);
    expect(fits, 'no sideways scroll at 1920×1080').toBe(true);
    await expect(page.getByRole('columnheader', { name: /Owner/ })).toBeInViewport();
    await expect(page.getByTestId('grid-new')).toBeInViewport();
  });

  test('a long view pages in as it scrolls, keeping only the rows in view on the page', async ({ page, request }) => {
    const server = await ServerUser.signIn(request);
    for (let i = 1; i <= PAGING_CALLS; i += 1) {
      const scheduledend = `2099-01-01T${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00Z`;
      await server.create('phonecall', { subject: pagingSubject(i), scheduledend }, pagingId(i));
    }
    await openModule(page, 'field-sales');
    await syncDevice(page);
    await openGrid(page, 'phonecall', 'Phone Calls');
    await expect(page.getByTestId('grid-total')).toHaveText(/^\d[\d,]* phone calls$/);
    const total = Number((await page.getByTestId('grid-total').textContent())?.replace(/\D/g, ''));
    expect(total, 'this spec made more than a page of calls').toBeGreaterThan(100);
    await expect(page.getByTestId('grid-status')).toHaveText(`100 of ${total} loaded`);

    const grid = page.getByTestId('grid');
    await grid.evaluate((el) => (el.scrollTop = el.scrollHeight));
    await expect(page.getByTestId('grid-status')).toHaveText(`${total} of ${total} loaded`);
    await expect(page.getByTestId('grid-row').filter({ hasText: pagingSubject(PAGING_CALLS) })).toBeVisible();
    expect(await page.getByTestId('grid-row').count(), 'only the rows in view are on the page').toBeLessThan(60);
    // The second page was asked for with the first page's cursor, from the store.
    await grid.evaluate((el) => (el.scrollTop = 0));
    await expect(page.getByTestId('grid-row').first()).toBeVisible();
  });

  test('Mark complete on two selected tasks completes them, offline first, then on the server', async ({ page, request }) => {
    const stamp = Date.now().toString(36);
    const subjects = [`Grid spec task A ${stamp}`, `Grid spec task B ${stamp}`];
    const hex = Date.now().toString(16).padStart(12, '0');
    const ids = [`00000000-0e2e-700a-8000-${hex}`, `00000000-0e2e-700b-8000-${hex}`];
    const server = await ServerUser.signIn(request);
    for (const [i, id] of ids.entries()) {
      await server.create('task', { subject: subjects[i]!, scheduledend: '2099-06-01T09:00:00Z' }, id);
    }
    await openModule(page, 'field-sales');
    await syncDevice(page);
    await openGrid(page, 'task', 'Tasks');
    await page.getByTestId('grid-filter').fill(`Grid spec task ${stamp}`);
    await expect(page.getByTestId('grid-row')).toHaveCount(2);
    await expect(page.getByTestId('grid-mark-complete')).toBeDisabled();
    for (const subject of subjects) {
      await page.getByTestId('grid-row').filter({ hasText: subject }).getByTestId('grid-select').check();
    }
    await expect(page.getByTestId('grid-mark-complete')).toHaveText(/Mark complete \(2\)/);
    await snapshot(page, 'grid-tasks');

    // Offline: the command runs on the device at once.
    await network(request, 'offline');
    await page.getByTestId('grid-mark-complete').click();
    await expect(page.getByTestId('toast')).toContainText('2 tasks marked complete');
    await expect(page.getByTestId('grid-empty'), 'completed tasks leave My Open Tasks').toBeVisible();
    await page.getByTestId('grid-view').selectOption({ label: 'Open Tasks' });
    await expect(page.getByTestId('grid-empty')).toBeVisible();

    // Back online, the commands are replayed and the server has them completed.
    await network(request, 'online');
    await syncDevice(page);
    for (const id of ids) {
      const fields = await server.get('task', id);
      expect(fields.statecode, `task ${id} is completed on the server`).toBe('1');
    }
  });
});
