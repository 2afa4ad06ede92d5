/**
 * Search (C8, B5) on the device's data: a word of one of fiona's account names from the
 * header across every entity of Field Sales, then categorized to accounts, then by a
 * date (activities are found by their due date). Read-only: it touches no record.
 */
import { expect, test } from '@playwright/test';
import type { EntityDef, Metadata, SearchHitRow } from '../src/lib/api/bindings';
import { invoke, network, openModule, snapshot } from './helpers';

test.afterEach(async ({ request }) => {
  await network(request, 'online');
});

test.describe('search', () => {
  test('across entities, then categorized, then by date', async ({ page }) => {
    await openModule(page, 'field-sales');
    // A word of one of fiona's account names (the first in the grid).
    await page.getByTestId('sitemap-account').getByRole('link').click();
    const first = page.getByTestId('grid-row').first().locator('[data-column="name"] .text');
    await expect(first).toBeVisible();
    const name = (await first.textContent()) ?? '';
    const word = name.split(/[^\p{L}\p{N}]+/u).find((w) => w.length >= 3) ?? name;

    // From the header: every entity of the module.
    await page.getByTestId('global-search').fill(word);
    await page.getByTestId('global-search').press('Enter');
    await expect(page).toHaveURL(/#\/search\?q=/);
    await expect(page.getByRole('heading', { level: 2, name: 'Search' })).toBeVisible();
    await expect(page.getByTestId('search-entity')).toHaveValue('');
    const accounts = page.getByTestId('search-group-account');
    await expect(accounts.getByTestId('search-hit').filter({ hasText: name }).first()).toBeVisible();
    await expect(page.getByTestId('search-summary')).toContainText(`for “${word}” in every entity of this app`);
    // Quick-find values beside the name, with their labels.
    await expect(accounts.getByTestId('search-hit').first()).toContainText('Account number:');
    await snapshot(page, 'search');

    // Categorized: accounts only.
    await page.getByTestId('search-entity').selectOption({ label: 'Accounts' });
    await expect(page).toHaveURL(/entity=account/);
    await expect(page.getByTestId('search-summary')).toContainText(`for “${word}” in accounts`);
    await expect(accounts.getByTestId('search-hit').filter({ hasText: name }).first()).toBeVisible();
    await expect(page.locator('[data-testid^="search-group-"]')).toHaveCount(1);
    await expect(page.getByTestId('search-hint')).toContainText('Account name');

    // Nothing matched, said in words.
    await page.getByTestId('search-text').fill('zzqxno');
    await page.getByTestId('search-text').press('Enter');
    await expect(page.getByTestId('search-nothing')).toHaveText('Nothing matched “zzqxno” in accounts.');

    // Back returns to the categorized search; a hit opens its record.
    await page.goBack();
    await expect(accounts.getByTestId('search-hit').filter({ hasText: name }).first()).toBeVisible();
    await accounts.getByTestId('search-hit').filter({ hasText: name }).first().click();
    await expect(page).toHaveURL(/#\/record\/account\//);

    // By date (B5), where a module entity searches a date column.
    const metadata = await invoke<Metadata>(page, 'metadata_get');
    const module = metadata.app_modules.find((m) => m.id === 'field-sales');
    const dated = metadata.entities
      .filter((e) => module?.entities.includes(e.name))
      .flatMap((e: EntityDef) =>
        e.quick_find
          .map((f) => e.attributes.find((a) => a.name === f))
          .filter((a) => a !== undefined && (a.kind.type === 'date_only' || a.kind.type === 'date_time'))
          .map((a) => ({ entity: e, attr: a! })),
      );
    const pick = dated[0];
    expect(pick, 'an entity of Field Sales searches a date (activities: their due date)').toBeDefined();
    if (pick === undefined) return;
    const page1 = await invoke<{ rows: { fields: Record<string, string | null> }[] }>(page, 'view_page', {
      entity: pick.entity.name,
      view_id: null,
      search: null,
      after: null,
      limit: 50,
      order_by: null,
    });
    const value = page1.rows.map((r) => r.fields[pick.attr.name]).find((v) => v !== null && v !== undefined);
    expect(value, `a ${pick.entity.name} with a ${pick.attr.name}`).toBeTruthy();
    if (value === undefined || value === null) return;
    const date = value.slice(0, 10);
    const hits = await invoke<SearchHitRow[]>(page, 'search', { text: date, entities: [pick.entity.name], limit: 5 });
    expect(hits.length, `the device finds ${pick.entity.name} by ${date}`).toBeGreaterThan(0);
    await page.goto(`/#/search?q=${date}&entity=${pick.entity.name}`);
    await expect(page.getByTestId(`search-group-${pick.entity.name}`).getByTestId('search-hit').first()).toBeVisible();
  });
});
