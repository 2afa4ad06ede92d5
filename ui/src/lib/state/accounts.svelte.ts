import type { OutpostApi, RecordRow } from '../api';
import { toOutpostError } from '../api';
import { loadErrorMessage, saveErrorMessage } from './messages';
import { field, lookupId, sortByName } from './format';

export const ACCOUNT_ENTITY = 'account';
/** The demo org's account attributes the grid and the editor use. */
export const ACCOUNT_NAME = 'name';
export const ACCOUNT_CITY = 'address1_city';
export const ACCOUNT_REVENUE = 'revenue';
export const ACCOUNT_OWNER = 'ownerid';
/** Users: whom an owner lookup points at, shown by full name. */
export const USER_ENTITY = 'systemuser';
const USER_NAME = 'fullname';

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

  /** Full names of the users on the device, by id (empty when none are synced). */
  userNames = $state.raw<Readonly<Record<string, string>>>({});
  /** The owner column only shows when owners can be named from local user records. */
  showOwner = $derived(Object.keys(this.userNames).length > 0);

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
      const userNames = await this.#loadUserNames();
      if (seq !== this.#loadSeq) return; // a newer load superseded this one
      this.rows = rows;
      this.userNames = userNames;
      this.loaded = true;
      this.loadError = null;
    } catch (error) {
      if (seq !== this.#loadSeq) return;
      this.loadError = loadErrorMessage(error);
    } finally {
      if (seq === this.#loadSeq) this.loading = false;
    }
  }

  /** The owner's full name, or '' when it is a team or a user not on the device. */
  ownerName(row: RecordRow): string {
    const id = lookupId(row.fields[ACCOUNT_OWNER], USER_ENTITY);
    return id !== null && Object.hasOwn(this.userNames, id) ? (this.userNames[id] ?? '') : '';
  }

  /** Users are reference data for names only: without them the grid still works. */
  async #loadUserNames(): Promise<Readonly<Record<string, string>>> {
    try {
      const users = await this.#api.recordList({ entity: USER_ENTITY });
      return Object.fromEntries(users.map((u) => [u.id, field(u, USER_NAME)]));
    } catch {
      return {};
    }
  }

  startEdit(id: string): void {
    const row = this.rows.find((r) => r.id === id);
    if (!row) return;
    this.editing = { id, name: field(row, ACCOUNT_NAME), city: field(row, ACCOUNT_CITY) };
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
    if (!row || name !== field(row, ACCOUNT_NAME)) fields[ACCOUNT_NAME] = name;
    if (!row || city !== field(row, ACCOUNT_CITY)) fields[ACCOUNT_CITY] = city;
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
