/**
 * Offline drafts mode (C17), for app modules set to *drafts*: new records made on the
 * device as drafts (checked now, saved to the server one by one when online), and the
 * recently opened records kept for reading offline. The screen is
 * `pages/DraftsPage.svelte`.
 */
import { toOutpostError, type DraftRow, type EntityDef, type Metadata, type RecordRow } from '../api';
import { CoreStore, FormModel, RecordEditor, failureText, type Fields, type StoreOptions } from './form.svelte';

/** What a person reads as a draft's or recent record's name. */
export function recordName(def: EntityDef | null, fields: Fields): string {
  const value = def === null ? null : fields[def.primary_field];
  if (value !== null && value !== undefined && value.trim() !== '') return value;
  return `Untitled ${def?.label.toLowerCase() ?? 'record'}`;
}

export const OFFLINE_SAVE_MESSAGE =
  'You are offline: drafts are saved to the server only online. The draft is kept on this device — save it when you are back online.';

/** How a draft's save ended. */
export type SaveOutcome = 'saved' | 'offline' | 'refused';

/** The drafts list, with the recently opened records beside it. */
export class DraftsStore extends CoreStore {
  drafts = $state<DraftRow[]>([]);
  recent = $state<RecordRow[]>([]);
  loading = $state(false);
  loadError = $state<string | null>(null);
  /** The draft being saved or deleted. */
  busy = $state<string | null>(null);
  /** A message per draft: why the save did not happen (shown on the draft). */
  messages = $state<Record<string, string>>({});
  /** The drafts whose message is "offline, kept" rather than a refusal. */
  waiting = $state<string[]>([]);

  async load(): Promise<void> {
    this.loading = true;
    try {
      const [drafts, recent] = await Promise.all([
        this.run('draft_list'),
        this.run('recent_list', { entity: null }),
      ]);
      this.drafts = drafts;
      this.recent = recent;
      this.loadError = null;
    } catch (error) {
      this.loadError = failureText(error, 'Reading the drafts');
    } finally {
      this.loading = false;
    }
  }

  /**
   * Saves one draft to the server (online only). Saved: it leaves the list. Offline: it
   * stays as it was, with a message. Refused: it stays, with the server's reason.
   */
  async save(id: string): Promise<SaveOutcome> {
    this.busy = id;
    delete this.messages[id];
    this.waiting = this.waiting.filter((w) => w !== id);
    try {
      await this.run('draft_save', { id });
      this.drafts = this.drafts.filter((d) => d.id !== id);
      this.touched();
      await this.load();
      return 'saved';
    } catch (error) {
      const e = toOutpostError(error);
      if (e.code === 'server_unreachable' || e.code === 'not_signed_in') {
        this.messages[id] =
          e.code === 'not_signed_in'
            ? 'Sign in again to save drafts to the server. The draft is kept on this device.'
            : OFFLINE_SAVE_MESSAGE;
        this.waiting.push(id);
        return 'offline';
      }
      this.messages[id] = failureText(e, 'Saving the draft');
      await this.load();
      return 'refused';
    } finally {
      this.busy = null;
    }
  }

  async remove(id: string): Promise<boolean> {
    this.busy = id;
    try {
      await this.run('draft_delete', { id });
      this.drafts = this.drafts.filter((d) => d.id !== id);
      delete this.messages[id];
      this.touched();
      return true;
    } catch (error) {
      this.messages[id] = failureText(error, 'Deleting the draft');
      return false;
    } finally {
      this.busy = null;
    }
  }
}

/**
 * One draft's form: a new draft (`draft_create`) or an existing one (`draft_update` with
 * the changed fields). Lookups may only point at records available offline; the core
 * refuses others with a message, shown next to the form.
 */
export class DraftEditor extends RecordEditor {
  draft = $state<DraftRow | null>(null);
  loadError = $state<string | null>(null);

  constructor(metadata: Metadata, def: EntityDef, id: string | null, options: StoreOptions) {
    super(metadata, def, id, true, options);
  }

  /** Reads the draft (there is no single-draft command: it is found in the list). */
  async load(): Promise<void> {
    if (this.id === null) return;
    this.loading = true;
    try {
      const found = (await this.run('draft_list')).find((d) => d.id === this.id) ?? null;
      if (found === null) {
        this.loadError = 'This draft is not on this device any more: it was saved or deleted.';
        return;
      }
      this.draft = found;
      this.loadError = null;
      this.model.load(found.fields, await this.#lookupLabels(found.fields));
    } catch (error) {
      this.loadError = failureText(error, 'Reading the draft');
    } finally {
      this.loading = false;
    }
  }

  /** Saves the draft on the device (not to the server). Answers whether it did. */
  save(): Promise<boolean> {
    const invalid = 'Some fields need attention — see the messages beside them.';
    return this.saveChanges(invalid, 'Keeping the draft', async (fields) => {
      const draft =
        this.id === null
          ? await this.run('draft_create', { entity: this.def.name, fields })
          : await this.run('draft_update', { id: this.id, fields });
      this.id = draft.id;
      this.draft = draft;
      this.model.load(draft.fields, { ...this.model.labels });
      this.touched();
    });
  }

  /** The names behind the draft's lookups, for the records the device holds. */
  async #lookupLabels(fields: Fields): Promise<Record<string, string>> {
    const labels: Record<string, string> = {};
    for (const attr of this.def.attributes) {
      if (attr.kind.type !== 'lookup') continue;
      const value = fields[attr.name];
      const at = value?.indexOf(':') ?? -1;
      if (value === null || value === undefined || at <= 0) continue;
      const entity = value.slice(0, at);
      const def = this.metadata.entities.find((e) => e.name === entity) ?? null;
      try {
        const detail = await this.run('record_get', { entity, id: value.slice(at + 1) });
        labels[attr.name] = recordName(def, detail.record.fields);
      } catch {
        // Not on the device: the field shows "(not on this device)".
      }
    }
    return labels;
  }
}

/** A record of a drafts module opened for reading (`recent_open`, kept for offline). */
export class RecentRecord extends CoreStore {
  readonly def: EntityDef;
  model: FormModel;
  row = $state<RecordRow | null>(null);
  loading = $state(false);
  loadError = $state<string | null>(null);

  constructor(def: EntityDef, options: StoreOptions) {
    super(options);
    this.def = def;
    this.model = new FormModel(def, false);
    this.model.readOnly = true;
  }

  async load(id: string): Promise<void> {
    this.loading = true;
    try {
      const row = await this.run('recent_open', { entity: this.def.name, id });
      this.row = row;
      this.model.load(row.fields, {});
      this.loadError = null;
    } catch (error) {
      const e = toOutpostError(error);
      this.loadError =
        e.code === 'not_found'
          ? 'This record is not kept on this device, and the server cannot be asked now. Open it again when you are online.'
          : failureText(e, 'Opening the record');
    } finally {
      this.loading = false;
    }
  }
}
