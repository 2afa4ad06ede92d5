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

/** Saves the screenshot of a screen and checks it for accessibility. */
export async function snapshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: screenshotPath(name), fullPage: false });
  await expectAccessible(page, name);
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

  async get(entity: string, id: string): Promise<Record<string, string | null>> {
    const res = await this.request.get(this.url(`/records/${entity}/${id}`), { headers: this.headers });
    expect(res.ok(), await res.text()).toBe(true);
    return ((await res.json()) as { fields: Record<string, string | null> }).fields;
  }

  async update(entity: string, id: string, changes: Record<string, string | null>): Promise<void> {
    const res = await this.request.patch(this.url(`/records/${entity}/${id}`), {
      headers: this.headers,
      data: { changes },
    });
    expect(res.ok(), await res.text()).toBe(true);
  }

  /** Records of an entity matching an OData-style filter. */
  async list(entity: string, filter: string): Promise<{ id: string; fields: Record<string, string | null> }[]> {
    const res = await this.request.get(this.url(`/records/${entity}`), {
      headers: this.headers,
      params: { $filter: filter },
    });
    expect(res.ok(), await res.text()).toBe(true);
    return (await res.json()) as { id: string; fields: Record<string, string | null> }[];
  }

  /** Administrator only: an entity's offline settings (S7). */
  async entityOffline(entity: string, enabled: boolean): Promise<void> {
    const res = await this.request.put(this.url(`/admin/offline/entities/${entity}`), {
      headers: this.headers,
      data: { entity, enabled, filter: '' },
    });
    expect(res.ok(), await res.text()).toBe(true);
  }
}

/**
 * The device's network: the bridge reaches the org server through a fault proxy
 * (`OUTPOST_PROXY_CONTROL`); `offline` makes it refuse every connection, `online` lets
 * them through again. The server itself keeps running (another device can still use it).
 */
export async function network(request: APIRequestContext, state: 'online' | 'offline'): Promise<void> {
  const res = await request.post(`${env('OUTPOST_PROXY_CONTROL')}/${state === 'online' ? 'pass' : 'refuse'}`);
  expect(res.ok()).toBe(true);
}

/**
 * Administrator only: changes the org's metadata the way an administrator would (a view
 * renamed), so every device sees an update waiting (C16). Answers the new version.
 */
export async function bumpMetadata(request: APIRequestContext): Promise<number> {
  const base = `${env('OUTPOST_DIRECT_SERVER_URL')}/api/v1`;
  const login = await request.post(`${base}/auth/login`, {
    data: { username: 'admin', password: env('OUTPOST_DEMO_PASSWORD'), device_id: `playwright-admin-${Date.now()}` },
  });
  expect(login.ok(), await login.text()).toBe(true);
  const headers = { authorization: `Bearer ${((await login.json()) as { access_token: string }).access_token}` };
  const current = await request.get(`${base}/metadata`, { headers });
  const metadata = ((await current.json()) as { metadata: { version: number; entities: { views: { name: string }[] }[] } }).metadata;
  const view = metadata.entities[0]?.views[0];
  if (view) view.name = `${view.name} (v${metadata.version + 1})`;
  const put = await request.put(`${base}/admin/metadata`, { headers, data: metadata });
  expect(put.ok(), await put.text()).toBe(true);
  return metadata.version + 1;
}
