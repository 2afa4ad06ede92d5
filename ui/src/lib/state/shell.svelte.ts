/**
 * The signed-in app around every screen: the org metadata, the app module in use, where
 * the user is (the route), and how sync stands (the footer, the sitemap markers, the
 * offline indicator, the metadata prompt). Screens read it; they never poll on their own.
 */
import { untrack } from 'svelte';
import {
  toOutpostError,
  type run,
  type AppModule,
  type EntityDef,
  type Metadata,
  type SyncStatus,
} from '../api';
import { entityDef } from './display';
import { syncErrorMessage } from './messages';
import { parseHash, routeHash, type Route } from './nav';
import { unsavedKept } from './form.svelte';

/** The way to the core: the real `run`, or a fake one in tests. Screens use the shell's (`shell.run`). */
export type Run = typeof run;

/** How often the footer's status is asked for; faster while a sync runs. */
export const STATUS_POLL_MS = 3000;
export const STATUS_POLL_SYNCING_MS = 700;
const MODULE_KEY = 'outpost.module';
/** How long a message stays: good news and information, then failures. */
export const TOAST_MS = 6000;
export const TOAST_ERROR_MS = 12000;

/** A marker of one sitemap entity (C14). */
export interface Marker {
  state: 'available' | 'unavailable' | 'none';
  reason: string | null;
}

export class ShellStore {
  metadata = $state<Metadata | null>(null);
  moduleId = $state<string | null>(null);
  route = $state<Route>({ kind: 'home' });
  sync = $state<SyncStatus | null>(null);
  /** The status could not be read (the service is gone); the footer says so. */
  statusError = $state<string | null>(null);
  /** A short message for the user (an action's outcome), cleared by the next one. */
  toast = $state<{ text: string; tone: 'ok' | 'error' | 'info' } | null>(null);
  /** Grows whenever local data may have changed: screens reload when it does. */
  dataVersion = $state(0);
  reconnecting = $state(false);
  downloading = $state(false);
  acceptingMetadata = $state(false);
  /** The app update prompt is open (S19). */
  updatePromptOpen = $state(false);
  /** An app update is being installed (the app restarts when it is done). */
  installingUpdate = $state(false);
  /** Why the last install failed, shown in the prompt. */
  updateError = $state<string | null>(null);
  /**
   * Sync errors that appeared since the user last looked at the list (a sync they ran
   * or one in the background): the footer's notification, linking to the list (C11).
   */
  newErrors = $state(0);
  /**
   * Grows with every sync seen to finish (run here, or in the background): what a sync
   * carried is known by it (the core's sync times are to the second, and two syncs may
   * end in the same one).
   */
  syncsSeen = $state(0);
  /** The metadata prompt was put off by the user for this version. */
  metadataLaterFor = $state<number | null>(null);

  module = $derived<AppModule | null>(
    this.metadata?.app_modules.find((m) => m.id === this.moduleId) ?? null,
  );
  modules = $derived<AppModule[]>(this.metadata?.app_modules ?? []);
  /** The module in use keeps new records as drafts rather than syncing records (C17). */
  draftsModule = $derived(this.module?.offline === 'drafts');
  /** The entities of the module's sitemap, each once and in its order (known ones only). */
  moduleEntities = $derived.by<string[]>(() => {
    const out: string[] = [];
    for (const area of this.module?.sitemap ?? []) {
      for (const group of area.groups) {
        for (const sub of group.subareas) {
          if (!out.includes(sub.entity) && this.entity(sub.entity) !== null) out.push(sub.entity);
        }
      }
    }
    return out;
  });
  /** The server cannot be reached, as the last status said (the offline indicator). */
  offline = $derived(this.sync !== null && !this.sync.online);
  /** Whether the module in use must download its data before it can be used offline. */
  needsDownload = $derived(
    this.module?.offline === 'sync' && this.sync !== null && this.sync.last_sync_at === null,
  );
  showMetadataPrompt = $derived(
    this.sync?.metadata_pending != null && this.metadataLaterFor !== this.sync.metadata_pending,
  );

  #run: Run;
  #lastSync: string | null = null;
  #errorsKnown: number | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #toastTimer: ReturnType<typeof setTimeout> | null = null;
  /**
   * The polling loop that runs, if one does: its step, and whether a status read is under
   * way (a second step then would start a second loop). A loop stopped and started again
   * while its read is under way ends when that read returns.
   */
  #loop: { tick: () => Promise<void>; busy: boolean } | null = null;
  /** Syncs the user started that have not answered yet. */
  #userSyncs = 0;

  constructor(run: Run) {
    this.#run = run;
    if (typeof localStorage !== 'undefined') {
      this.moduleId = localStorage.getItem(MODULE_KEY);
    }
  }

  /** The one way to the core: every screen and store reaches it here (tests give a fake). */
  get run(): Run {
    return this.#run;
  }

  entity(name: string): EntityDef | null {
    return entityDef(this.metadata, name);
  }

  /** An entity's label (`Account`), its logical name when the metadata has none. */
  entityLabel(name: string): string {
    return this.entity(name)?.label ?? name;
  }

  /** Reads the metadata; picks the first module when none (or a gone one) was chosen. */
  async load(): Promise<void> {
    try {
      this.metadata = await this.#run('metadata_get');
    } catch (error) {
      this.flash(`Could not read the app's configuration: ${toOutpostError(error).message}`, 'error');
      return;
    }
    if (this.moduleId !== null && !this.modules.some((m) => m.id === this.moduleId)) {
      this.moduleId = null;
    }
    // An address followed before the module was known may lead elsewhere now.
    const settled = this.#settle(this.route);
    if (settled !== this.route) this.go(settled, { replace: true });
  }

  chooseModule(id: string): void {
    this.moduleId = id;
    if (typeof localStorage !== 'undefined') localStorage.setItem(MODULE_KEY, id);
    const first = this.module?.sitemap[0]?.groups[0]?.subareas[0];
    this.go(first ? { kind: 'grid', entity: first.entity } : { kind: 'home' });
  }

  /**
   * Goes to a route and records it in the address, for back and reload; `replace`: in
   * place of the current entry (a redirect, which back should skip).
   */
  go(route: Route, options: { replace?: boolean } = {}): void {
    const to = this.#settle(route);
    this.route = to;
    if (typeof location !== 'undefined') {
      const hash = routeHash(to);
      if (options.replace === true) history.replaceState(null, '', hash);
      else if (location.hash !== hash) history.pushState(null, '', hash);
    }
  }

  /** Follows the address (back/forward, a typed or reloaded hash). */
  followAddress(): void {
    if (typeof location === 'undefined') return;
    const route = parseHash(location.hash);
    const to = this.#settle(route);
    this.route = to;
    if (to !== route) history.replaceState(null, '', routeHash(to));
  }

  /** Where a route really leads: a new record in a drafts module is a new draft (C17). */
  #settle(route: Route): Route {
    return route.kind === 'new' && this.draftsModule
      ? { kind: 'new-draft', entity: route.entity }
      : route;
  }

  /**
   * Shows a short message; it goes by itself after a while (it floats over the screen,
   * so it must not stay in the way), sooner for good news than for a failure.
   */
  flash(text: string, tone: 'ok' | 'error' | 'info' = 'info'): void {
    const toast = { text, tone };
    this.toast = toast;
    if (this.#toastTimer !== null) clearTimeout(this.#toastTimer);
    this.#toastTimer = setTimeout(
      () => {
        if (this.toast?.text === toast.text) this.toast = null;
        this.#toastTimer = null;
      },
      tone === 'error' ? TOAST_ERROR_MS : TOAST_MS,
    );
  }

  /** Local data changed (an edit, a command, a sync): screens showing data reload. */
  touched(): void {
    this.dataVersion += 1;
  }

  /** The user is looking at the sync errors: nothing new to tell. */
  errorsSeen(): void {
    this.newErrors = 0;
  }

  /** Reads the footer's status once. */
  async refreshStatus(): Promise<void> {
    try {
      const status = await this.#run('sync_status');
      this.sync = status;
      this.statusError = null;
      if (this.#errorsKnown !== null && status.sync_errors > this.#errorsKnown) {
        this.newErrors += status.sync_errors - this.#errorsKnown;
      }
      if (status.sync_errors === 0) this.newErrors = 0;
      this.#errorsKnown = status.sync_errors;
      if (status.last_sync_at !== this.#lastSync) {
        this.syncsSeen += 1;
        if (this.#lastSync !== null) this.touched();
        this.#lastSync = status.last_sync_at;
      }
    } catch (error) {
      this.statusError = toOutpostError(error).message;
    }
  }

  /** Polls the status until `stop`; faster while a sync runs. */
  startPolling(): () => void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    const loop = {
      busy: false,
      tick: async () => {
        loop.busy = true;
        try {
          await this.refreshStatus();
        } finally {
          loop.busy = false;
        }
        if (this.#loop !== loop) return;
        // A download runs through syncNow, so it counts among the user's syncs.
        const syncing = this.sync?.syncing === true || this.#userSyncs > 0;
        this.#timer = setTimeout(() => void loop.tick(), syncing ? STATUS_POLL_SYNCING_MS : STATUS_POLL_MS);
      },
    };
    this.#loop = loop;
    void loop.tick();
    return () => {
      if (this.#loop !== loop) return;
      this.#loop = null;
      if (this.#timer !== null) clearTimeout(this.#timer);
    };
  }

  /**
   * Reads the status now instead of at the next slow poll, and polls at the syncing pace
   * from then on: a sync the user starts shows its progress at once (B6).
   */
  #pollNow(): void {
    const loop = this.#loop;
    if (loop === null || loop.busy) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    void loop.tick();
  }

  /** The sitemap marker of an entity of the module in use (C14). */
  marker(entity: string): Marker {
    if (this.module?.offline !== 'sync') return { state: 'none', reason: null };
    const item = this.sync?.entities.find((e) => e.entity === entity);
    if (item === undefined) return { state: 'none', reason: null };
    // Before the first download nothing is wrong yet (red means an error): no bar.
    if (this.sync?.last_sync_at === null) return { state: 'none', reason: null };
    return item.available
      ? { state: 'available', reason: null }
      : { state: 'unavailable', reason: item.reason ?? 'Not available offline' };
  }

  /**
   * Runs a sync the user asked for, says how it went, and reads the status again; the
   * screens reload once (whether or not the status shows a new sync time).
   */
  async syncNow(): Promise<void> {
    this.#userSyncs += 1;
    try {
      const running = this.#run('sync_now');
      this.#pollNow();
      const report = await running;
      // Two syncs in the same second leave the same time: count this one anyway.
      this.syncsSeen += 1;
      const parts = [`${report.pushed} sent`, `${report.pulled} received`];
      if (report.conflicts + report.errors > 0) {
        parts.push(`${report.conflicts + report.errors} need your attention`);
      }
      this.flash(`Synced — ${parts.join(', ')}`, report.conflicts + report.errors > 0 ? 'error' : 'ok');
    } catch (error) {
      const code = toOutpostError(error).code;
      const expected = code === 'server_unreachable' || code === 'metadata_pending';
      this.flash(syncErrorMessage(error), expected ? 'info' : 'error');
    } finally {
      this.#userSyncs -= 1;
    }
    const version = this.dataVersion;
    await this.refreshStatus();
    if (this.dataVersion === version) this.touched();
  }

  /** The first download of an offline module's data (C1, B6), when the user says yes. */
  async download(): Promise<void> {
    if (this.downloading) return;
    this.downloading = true;
    try {
      await this.syncNow();
    } finally {
      this.downloading = false;
    }
  }

  /** The offline indicator was tapped: is the server back? Then replay at once (C15). */
  async reconnect(): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    try {
      const reachable = await this.#run('server_probe');
      if (reachable) {
        await this.syncNow();
      } else {
        this.flash('Still offline — the server cannot be reached. Your work is kept.', 'info');
        await this.refreshStatus();
      }
    } catch (error) {
      this.flash(`Could not check the connection: ${toOutpostError(error).message}`, 'error');
    } finally {
      this.reconnecting = false;
    }
  }

  /** Downloads the waiting metadata update (C16), then the app's configuration again. */
  async acceptMetadata(): Promise<void> {
    if (this.acceptingMetadata) return;
    this.acceptingMetadata = true;
    try {
      await this.#run('metadata_accept');
      await this.load();
      this.flash('The app was updated to the latest configuration', 'ok');
    } catch (error) {
      this.flash(`The update did not download: ${toOutpostError(error).message}`, 'error');
    } finally {
      this.acceptingMetadata = false;
      await this.refreshStatus();
      this.touched();
    }
  }

  /** Opens the prompt of the app update the org offers. */
  openUpdate(): void {
    this.updateError = null;
    this.updatePromptOpen = true;
  }

  /** Closes the app update prompt; the footer keeps its link. */
  updateLater(): void {
    this.updatePromptOpen = false;
  }

  /**
   * Installs the app update on the user's yes: the core waits for a sync under way, holds
   * sync still, has the package checked against the org's key and installed, and
   * restarts the app. When it fails nothing was installed and the prompt says why.
   */
  async installUpdate(): Promise<void> {
    if (this.installingUpdate) return;
    // Installing restarts the app: a form being edited, or one left with unsaved edits,
    // would lose them. The forms say so the way they do when the window closes.
    const leaving = new Event('beforeunload', { cancelable: true });
    window.dispatchEvent(leaving);
    if (leaving.defaultPrevented || unsavedKept() > 0) {
      this.updateError =
        'Save or discard your unsaved changes first: installing restarts the app.';
      return;
    }
    this.installingUpdate = true;
    this.updateError = null;
    try {
      await this.#run('update_install');
    } catch (error) {
      this.updateError = toOutpostError(error).message;
    } finally {
      this.installingUpdate = false;
      await this.refreshStatus();
    }
  }

  /** Puts the metadata prompt off; the footer keeps its link (C12). */
  metadataLater(): void {
    this.metadataLaterFor = this.sync?.metadata_pending ?? null;
  }
}

/**
 * Calls `reload` whenever local data may have changed (an edit, a command, a sync: the
 * shell's `dataVersion` grew), and at once too when `now`. For a component's script: it
 * makes an effect that lives as long as the component (`shell`: the component's prop).
 */
export function reloadOnChange(shell: () => ShellStore, reload: () => void, options: { now?: boolean } = {}): void {
  let seen = options.now === true ? null : untrack(() => shell().dataVersion);
  $effect(() => {
    const version = shell().dataVersion;
    if (version === seen) return;
    seen = version;
    untrack(reload);
  });
}
