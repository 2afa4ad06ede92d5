/**
 * The browser bridge speaks for the signed-in user, so it answers only its own page holding
 * the run's key: opened from the address `outpost bridge` printed (`#key=…`), the UI keeps
 * the key for the tab and drops it from the address bar; opened without it, it says what
 * to open; a page on another site can neither read nor fire a command (here: a form that
 * posts a sign-out, and a script that fetches the records). These contexts do not get the
 * key the other specs' requests carry.
 */
import { expect, test, type Browser } from '@playwright/test';
import { env, invoke } from './helpers';

function keylessContext(browser: Browser) {
  return browser.newContext({ baseURL: env('OUTPOST_BRIDGE_URL'), extraHTTPHeaders: {} });
}

test.describe('the bridge', () => {
  test('a page opened without the key gets nothing and says which address to open', async ({ browser }) => {
    const context = await keylessContext(browser);
    const page = await context.newPage();
    await page.goto('/');
    await expect(page.getByTestId('status-error')).toContainText('This page needs its key');
    const answer = await page.request.post('/api/invoke/session_status', { data: {} });
    expect(answer.status(), 'no key, no answer').toBe(401);
    await context.close();
  });

  test('the address the bridge printed opens the app, and the key leaves the address bar', async ({ browser }) => {
    const context = await keylessContext(browser);
    const page = await context.newPage();
    await page.goto(`/#key=${env('OUTPOST_BRIDGE_KEY')}`);
    await expect(page.getByTestId('status-error')).toHaveCount(0);
    await expect(page.locator('main, [data-testid="modules"], [data-testid="signin-submit"]').first()).toBeVisible();
    expect(new URL(page.url()).hash, 'the key is not left in the address bar').toBe('');
    await page.reload();
    await expect(page.getByTestId('status-error'), 'the tab keeps the key across a reload').toHaveCount(0);
    await context.close();
  });

  test('another site can neither fire nor read a command', async ({ browser, page }) => {
    const before = await invoke<{ signed_in: boolean; offline_data: boolean }>(page, 'session_status');
    const bridge = env('OUTPOST_BRIDGE_URL');
    const context = await keylessContext(browser);
    const evil = await context.newPage();
    const hits: number[] = [];
    evil.on('response', (r) => {
      if (r.url().includes('/api/invoke/')) hits.push(r.status());
    });
    await evil.setContent(`
      <form id="f" method="POST" action="${bridge}/api/invoke/session_sign_out"></form>
      <p id="read">…</p>
      <script>
        fetch('${bridge}/api/invoke/record_list', {
          method: 'POST', body: '{"entity":"account"}', headers: { 'content-type': 'text/plain' },
        }).then((r) => r.text()).then((t) => { document.getElementById('read').textContent = t; },
          () => { document.getElementById('read').textContent = 'blocked'; });
      </script>`);
    await expect(evil.locator('#read')).not.toHaveText('…');
    await expect(evil.locator('#read'), 'the script reads nothing').not.toContainText('"id"');
    await evil.locator('#f').evaluate((f: HTMLFormElement) => f.submit());
    await evil.waitForLoadState();
    expect(hits.every((status) => status >= 400), `every cross-site command was refused: ${hits.join(', ')}`).toBe(true);
    await context.close();
    const after = await invoke<{ signed_in: boolean; offline_data: boolean }>(page, 'session_status');
    expect(after, 'the device is as it was').toEqual(expect.objectContaining({
      signed_in: before.signed_in,
      offline_data: before.offline_data,
    }));
  });
});
