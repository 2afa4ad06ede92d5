import { expect, test } from '@playwright/test';
import { openModule, snapshot } from './helpers';

test.describe('the app shell', () => {
  test('signs in, downloads the module and shows the sitemap with markers', async ({ page }) => {
    await openModule(page, 'field-sales');
    await expect(page.getByTestId('sitemap-account')).toHaveAttribute('data-marker', 'available');
    await snapshot(page, 'sitemap');
  });
});
