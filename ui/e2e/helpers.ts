/**
 * What every browser spec shares: the environment the harness exports, signing the one
 * bridge device in (the first spec does it through the form; later ones find it signed
 * in), opening a module, accessibility checks, screenshots under `target/playwright/`,
 * a second "device" that talks to the org server's REST API directly, and the device's
 * network switch (the fault proxy between the bridge and the server).
 *
 * Specs run one after another against one bridge and one server (`workers: 1`): each
 * spec uses its own records, so their order does not matter.
 */
import { AxeBuilder } from '@axe-core/playwright';
import { expect, type APIRequestContext, type Page } from '@playwright/test';
import { fileURLToPath } from 'node:url';

export function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set (the harness \`cargo xtask test\` exports it)`);
  }
  return value;
}

/** Where a spec's screenshot goes: `target/playwright/<name>.png`. */
export function screenshotPath(name: string): string {
  return fileURLToPath(new URL(`../../target/playwright/${name}.png`, import.meta.url));
}

/** Fails on serious or critical axe violations, naming them. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter(
    (v) => v.impact === 'serious' || v.impact === 'critical',
  );
  const summary = serious.map(
    (v) => `${v.impact}: ${v.id} — ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`,
  );
  expect(summary, `accessibility violations on the ${screen} screen`).toEqual([]);
}

/** The smallest touch target a tablet user can hit reliably (CSS px, WCAG 2.5.5). */
export const TOUCH_TARGET_PX = 44;

/**
 * Every control on screen is a touch target of at least 44×44 px: its own box, or the
 * label or cell that takes its taps. Inline links in running text are exempt (WCAG).
 */
export async function expectTouchTargets(page: Page, screen: string): Promise<void> {
  const small = await page.evaluate((min) => {
    const controls = document.querySelectorAll<HTMLElement>(
      'button, select, textarea, input:not([type="hidden"]), a[href], [role="button"], [role="tab"], summary',
    );
    const found: string[] = [];
    for (const el of controls) {
      const box = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      const shown =
        box.width > 0 &&
        box.height > 0 &&
        style.visibility !== 'hidden' &&
        box.bottom > 0 &&
        box.right > 0 &&
        box.top < innerHeight &&
        box.left < innerWidth;
      if (!shown || el.closest('[inert]') !== null) continue;
      if (el.tagName === 'A' && el.closest('p, li') !== null && style.display === 'inline') continue;
      const taker = el.closest('label') ?? el;
      const area = taker.getBoundingClientRect();
      if (Math.round(area.width) < min || Math.round(area.height) < min) {
        const id = el.dataset.testid ?? el.getAttribute('aria-label') ?? el.textContent?.trim().slice(0, 30) ?? '';
        found.push(`${el.tagName.toLowerCase()} "${id}" ${Math.round(area.width)}×${Math.round(area.height)}`);
      }
    }
    return found;
  }, TOUCH_TARGET_PX);
  expect(small, `controls under ${TOUCH_TARGET_PX}×${TOUCH_TARGET_PX} px on the ${screen} screen`).toEqual([]);
}

/** Saves the screenshot of a screen and checks it for accessibility and touch targets. */
export async function snapshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: screenshotPath(name), fullPage: false });
  await expectAccessible(page, name);
  await expectTouchTargets(page, name);
}

/**
 * Opens the app signed in (signing in through the form when the bridge device is not),
 * with `module` chosen and its data downloaded.
 */
export async function openModule(page: Page, module = 'field-sales'): Promise<void> {
  await page.goto('/');
  const submit = page.getByTestId('signin-submit');
  const modules = page.getByTestId('modules');
  const switcher = page.getByTestId('module-switch');
  await expect(submit.or(modules).or(switcher).first()).toBeVisible({ timeout: 15_000 });
  if (await submit.isVisible()) {
    await page.getByTestId('signin-server').fill(env('OUTPOST_SERVER_URL'));
    await page.getByTestId('signin-user').fill(env('OUTPOST_DEMO_USER'));
    await page.getByTestId('signin-password').fill(env('OUTPOST_DEMO_PASSWORD'));
    await submit.click();
  }
  if (!(await modules.isVisible())) await switcher.click();
  await page.getByTestId(`module-${module}`).click();
  await expect(page.getByTestId('sitemap')).toBeVisible();
  const download = page.getByTestId('download-start');
  if (await download.isVisible().catch(() => false)) {
    await download.click();
    await expect(page.getByTestId('download-prompt')).toBeHidden({ timeout: 60_000 });
  }
}

/** A core command through the bridge, as the UI sends it; fails the test unless it succeeds. */
export async function invoke<T>(page: Page, cmd: string, args: object = {}): Promise<T> {
  const res = await page.request.post(`/api/invoke/${cmd}`, { data: args });
  expect(res.ok(), `${cmd} should succeed: ${await res.text()}`).toBe(true);
  return (await res.json()) as T;
}

/** The device syncs now (through the bridge), so records made on the server arrive. */
export async function deviceSync(page: Page): Promise<void> {
  await invoke(page, 'sync_now');
}

/**
 * The device tries to sync (through the bridge) without expecting it to succeed: offline
 * it fails, which is how a spec makes the app notice it is offline.
 */
export async function trySync(page: Page): Promise<void> {
  await page.request.post('/api/invoke/sync_now', { data: {} });
}

/**
 * The user taps the footer's Sync now and waits for the message saying how it went
 * (`says`: what it must contain), trying again while a background sync keeps the button
 * busy. The message stays up.
 */
export async function syncFromFooter(page: Page, says?: string): Promise<void> {
  await dismissToast(page);
  const toast = page.getByTestId('toast');
  await expect(async () => {
    await page.getByTestId('sync-now').click({ timeout: 5_000 });
    if (says === undefined) await expect(toast).toBeVisible({ timeout: 30_000 });
    else await expect(toast).toContainText(says, { timeout: 20_000 });
  }).toPass({ timeout: 60_000 });
}

/** Opens a record's form by its address and waits for its title. */
export async function openRecord(page: Page, entity: string, id: string, title: RegExp | string): Promise<void> {
  await page.goto(`/#/record/${entity}/${id}`);
  await expect(page.getByTestId('record-title')).toHaveText(title);
}

/** Closes the last message (toast), which floats over the bottom of the screen. */
export async function dismissToast(page: Page): Promise<void> {
  const toast = page.getByTestId('toast');
  if (await toast.isVisible()) await toast.getByRole('button', { name: 'Dismiss' }).click();
}

type Fields = Record<string, string | null>;

/** An entity's offline settings (S7), as the administrator's API reads and writes them. */
export type OfflineSetting = { entity: string; enabled: boolean; filter: string | null };

/** A second device of a user: the org server's REST API with its own token. */
export class ServerUser {
  private constructor(
    private readonly request: APIRequestContext,
    private readonly token: string,
  ) {}

  static async signIn(
    request: APIRequestContext,
    username = env('OUTPOST_DEMO_USER'),
  ): Promise<ServerUser> {
    const res = await request.post(`${env('OUTPOST_DIRECT_SERVER_URL')}/api/v1/auth/login`, {
      data: {
        username,
        password: env('OUTPOST_DEMO_PASSWORD'),
        device_id: `playwright-${username}-${Date.now()}`,
      },
    });
    expect(res.ok(), await res.text()).toBe(true);
    const body = (await res.json()) as { access_token: string };
    return new ServerUser(request, body.access_token);
  }

  private url(path: string): string {
    return `${env('OUTPOST_DIRECT_SERVER_URL')}/api/v1${path}`;
  }

  private get headers() {
    return { authorization: `Bearer ${this.token}` };
  }

  /** A GET that must succeed, answering its JSON body. */
  private async read<T>(path: string, params?: Record<string, string>): Promise<T> {
    const res = await this.request.get(this.url(path), { headers: this.headers, ...(params ? { params } : {}) });
    expect(res.ok(), await res.text()).toBe(true);
    return (await res.json()) as T;
  }

  /** A PUT or PATCH that must succeed. */
  private async write(method: 'put' | 'patch', path: string, data: unknown): Promise<void> {
    const res = await this.request[method](this.url(path), { headers: this.headers, data });
    expect(res.ok(), await res.text()).toBe(true);
  }

  async get(entity: string, id: string): Promise<Fields> {
    return (await this.read<{ fields: Fields }>(`/records/${entity}/${id}`)).fields;
  }

  /**
   * Makes a record (the user's own, so their profile brings it offline) and answers its id.
   * With an `id` of the caller's, one made before under it (409) is fine too.
   */
  async create(entity: string, fields: Fields, id?: string): Promise<string> {
    const res = await this.request.post(this.url(`/records/${entity}`), {
      headers: this.headers,
      data: id === undefined ? { fields } : { id, fields },
    });
    const what = `creating ${entity} ${id ?? ''} on the server: ${await res.text()}`;
    if (id !== undefined) {
      expect([201, 409], what).toContain(res.status());
      return id;
    }
    expect(res.ok(), what).toBe(true);
    return ((await res.json()) as { id: string }).id;
  }

  async update(entity: string, id: string, changes: Fields): Promise<void> {
    await this.write('patch', `/records/${entity}/${id}`, { changes });
  }

  /** Records of an entity matching an OData-style filter. */
  async list(entity: string, filter: string): Promise<{ id: string; fields: Fields }[]> {
    return this.read(`/records/${entity}`, { $filter: filter });
  }

  /** Administrator only: an entity's offline settings (S7). */
  async offlineSetting(entity: string): Promise<OfflineSetting> {
    const found = (await this.read<OfflineSetting[]>('/admin/offline/entities')).find((s) => s.entity === entity);
    expect(found, `${entity} has offline settings`).toBeDefined();
    return found as OfflineSetting;
  }

  /** Administrator only: sets an entity's offline settings (S7). */
  async setOffline(setting: OfflineSetting): Promise<void> {
    await this.write('put', `/admin/offline/entities/${setting.entity}`, setting);
  }

  /** Administrator only: switches an entity's offline availability (S7). */
  async entityOffline(entity: string, enabled: boolean): Promise<void> {
    await this.setOffline({ entity, enabled, filter: '' });
  }

  /**
   * Administrator only: changes the org's metadata the way an administrator would (a view
   * renamed), so every device sees an update waiting (C16). Answers the new version.
   */
  async bumpMetadata(): Promise<number> {
    type Org = { version: number; entities: { views: { name: string }[] }[] };
    const metadata = (await this.read<{ metadata: Org }>('/metadata')).metadata;
    const view = metadata.entities[0]?.views[0];
    if (view) view.name = `${view.name} (v${metadata.version + 1})`;
    await this.write('put', '/admin/metadata', metadata);
    return metadata.version + 1;
  }
}

/** Makes a record on the server as the demo user (fiona: her own, so her profile brings it offline). */
export async function createOnServer(request: APIRequestContext, entity: string, fields: Fields): Promise<string> {
  return (await ServerUser.signIn(request)).create(entity, fields);
}

/**
 * The device's network: the bridge reaches the org server through a fault proxy
 * (`OUTPOST_PROXY_CONTROL`); `offline` makes it refuse every connection, `online` lets
 * them through again. The server itself keeps running (another device can still use it).
 */
export async function network(request: APIRequestContext, state: 'online' | 'offline'): Promise<void> {
  const res = await request.post(`${env('OUTPOST_PROXY_CONTROL')}/${state === 'online' ? 'pass' : 'refuse'}`);
  expect(res.ok()).toBe(true);
  if (state === 'online') await slowNetwork(request, 0);
}

/** A slow link: every answer the device gets is held back `ms` (0: full speed again). */
export async function slowNetwork(request: APIRequestContext, ms: number): Promise<void> {
  const res = await request.post(`${env('OUTPOST_PROXY_CONTROL')}/latency?ms=${ms}`);
  expect(res.ok()).toBe(true);
}

/** `ServerUser.bumpMetadata` as the administrator: every device sees an update waiting (C16). */
export async function bumpMetadata(request: APIRequestContext): Promise<number> {
  return (await ServerUser.signIn(request, 'admin')).bumpMetadata();
}
