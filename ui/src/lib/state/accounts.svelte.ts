import type { OutpostApi, RecordRow } from '../api';
import { toOutpostError } from '../api';
import { loadErrorMessage, saveErrorMessage } from './messages';
import { field, sortByName } from './format';

export const ACCOUNT_ENTITY = 'account';

export type AccountsApi = Pick<OutpostApi, 'recordList' | 'recordUpdate'>;

export interface AccountsOptions {
  /** Called after a successful save, e.g. to refresh the pending-changes count. */
  onChanged?: () => Promise<void> | void;
}

export interface EditDraft {
  id: string;
  name: string;
  city: string;
}

/** The account list and the inline editor. */
export class AccountsStore {
  rows = $state.raw<RecordRow[]>([]);
  loaded = $state(false);
  loading = $state(false);
  loadError = $state<string | null>(null);

  editing = $state<EditDraft | null>(null);
  editError = $state<string | null>(null);
  saving = $state(false);

  sorted = $derived(sortByName(this.rows));

  #api: AccountsApi;
  #options: AccountsOptions;
  #loadSeq = 0;

  constructor(api: AccountsApi, options: AccountsOptions = {}) {
    this.#api = api;
    this.#options = options;
  }

  async load(): Promise<void> {
    const seq = ++this.#loadSeq;
    this.loading = true;
    try {
      const rows = await this.#api.recordList({ entity: ACCOUNT_ENTITY });
      if (seq !== this.#loadSeq) return; // a newer load superseded this one
      this.rows = rows;
      this.loaded = true;
      this.loadError = null;
    } catch (error) {
      if (seq !== this.#loadSeq) return;
      this.loadError = loadErrorMessage(error);
    } finally {
      if (seq === this.#loadSeq) this.loading = false;
    }
  }

  startEdit(id: string): void {
    const row = this.rows.find((r) => r.id === id);
    if (!row) return;
    this.editing = { id, name: field(row, 'name'), city: field(row, 'city') };
    this.editError = null;
  }

  /** Change the draft's name and/or city (what the inputs are bound to). */
  updateDraft(patch: Partial<Pick<EditDraft, 'name' | 'city'>>): void {
    if (!this.editing) return;
    this.editing = { ...this.editing, ...patch };
  }

  cancelEdit(): void {
    this.editing = null;
    this.editError = null;
  }

  /**
   * Validate and save the draft, sending only the fields that changed.
   * Returns true when the editor closed (saved, or nothing to save).
   */
  async save(): Promise<boolean> {
    const draft = this.editing;
    if (!draft || this.saving) return false;
    const name = draft.name.trim();
    const city = draft.city.trim();
    if (name === '') {
      this.editError = 'Name is required';
      return false;
    }
    const row = this.rows.find((r) => r.id === draft.id);
    const fields: Record<string, string> = {};
    if (!row || name !== field(row, 'name')) fields.name = name;
    if (!row || city !== field(row, 'city')) fields.city = city;
    if (Object.keys(fields).length === 0) {
      this.cancelEdit();
      return true;
    }

    this.saving = true;
    this.editError = null;
    try {
      const updated = await this.#api.recordUpdate({
        entity: ACCOUNT_ENTITY,
        id: draft.id,
        fields,
      });
      this.rows = this.rows.map((r) => (r.id === updated.id ? updated : r));
      this.editing = null;
    } catch (error) {
      this.editError = saveErrorMessage(error);
      if (toOutpostError(error).code === 'not_found') await this.load();
      return false;
    } finally {
      this.saving = false;
    }
    await this.load();
    await this.#options.onChanged?.();
    return true;
  }
}
