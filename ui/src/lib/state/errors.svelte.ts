/**
 * Sync errors (C11): the changes the server refused, as the user reads and resolves them.
 * A conflict lists each field both sides changed ("!": the value before, the device's,
 * the server's); another error lists the refused fields. The user keeps their change,
 * takes the server's, or edits and resubmits it; the resolution is applied on the device
 * at once and reaches the server with the next sync (made offline, it waits for one).
 * Changes parked behind an error (B2) go out once the server has its resolution.
 *
 * One store per shell (`errorsFor`), so the list, the detail and the last resolution's
 * outcome outlive the screen that shows them.
 */
import {
  toOutpostError,
  type AttributeDef,
  type EntityDef,
  type SyncErrorAction,
  type SyncErrorRow,
} from '../api';
import { attributeDef, counted, displayValue, editorText, lookupParts, parseEditor } from './display';
import type { Run, ShellStore } from './shell.svelte';

/** What an operation did, as a person says it. */
const KINDS: Record<string, string> = {
  create: 'Created',
  update: 'Edited',
  delete: 'Deleted',
  assign: 'Assigned',
  follow: 'Followed',
  unfollow: 'Unfollowed',
  flow_next: 'Moved to the next stage',
  flow_previous: 'Moved to the previous stage',
  flow_set_active: 'Set the active stage',
  lead_qualify: 'Qualified the lead',
  lead_disqualify: 'Disqualified the lead',
  opportunity_close_won: 'Closed as won',
  opportunity_close_lost: 'Closed as lost',
  case_resolve: 'Resolved the case',
  activity_convert_to_opportunity: 'Converted to an opportunity',
  activity_mark_complete: 'Marked complete',
};

export function kindLabel(kind: string): string {
  return KINDS[kind] ?? kind.replace(/_/g, ' ');
}

/** Why the server refused a change, by its code, in words that say what to do. */
const REASONS: Record<string, string> = {
  not_found: 'The record is no longer on the server (deleted there, or you lost access to it).',
  forbidden: 'You are not allowed to make this change.',
  already_exists: 'A record with this id already exists on the server.',
  invalid_state: 'The record is not in a state that allows this (it was closed or changed on the server).',
  unknown_flow: 'The business process flow of this record is no longer there.',
  lookup_target: 'A record this change points at is not available on the server.',
  invalid: 'Some values were refused.',
};

/** The label of a field of an entity (its logical name when the metadata has none). */
export function fieldLabel(def: EntityDef | null, field: string): string {
  return attributeDef(def, field)?.label ?? field;
}

/** The reason of an error in words (conflicts name their fields by label). */
export function reasonText(row: SyncErrorRow, def: EntityDef | null): string {
  if (row.code === 'conflict') {
    const fields = row.conflicts.map((c) => fieldLabel(def, c.field));
    if (row.kind === 'delete' || fields.length === 0) {
      return 'The record changed on the server after this device got it.';
    }
    return `Changed on the server too: ${fields.join(', ')}`;
  }
  const known = REASONS[row.code];
  if (known === undefined) return row.message;
  return row.message !== '' && row.message !== known ? `${known} ${row.message}` : known;
}

/** "2 changes waiting behind it" (B2), or null when none wait. */
export function waitingText(row: SyncErrorRow): string | null {
  const n = row.waiting.length;
  if (n === 0) return null;
  return `${counted(n, 'change', 'changes')} waiting behind it`;
}

/** Whether "edit and resubmit" applies: only to a change of field values. */
export function canResubmit(row: SyncErrorRow): boolean {
  return row.kind === 'update' || row.kind === 'create';
}

/**
 * The fields "edit and resubmit" offers: every changed field with an attribute the user
 * may set (the owner, status and system fields of a create travel along unchanged).
 */
export function editableFields(def: EntityDef | null, row: SyncErrorRow): AttributeDef[] {
  if (def === null) return [];
  const changed = [
    ...Object.keys(row.changes),
    ...row.conflicts.map((c) => c.field),
    ...row.fields.map((p) => p.field),
  ];
  return def.attributes.filter(
    (a) =>
      changed.includes(a.name) &&
      a.kind.type !== 'owner' &&
      a.kind.type !== 'state' &&
      a.kind.type !== 'status' &&
      (a.updatable || row.kind === 'create'),
  );
}

/** The editors' starting texts: the device's values ("yours"). */
export function resubmitStart(def: EntityDef | null, row: SyncErrorRow): Record<string, string> {
  const texts: Record<string, string> = {};
  for (const attr of editableFields(def, row)) {
    const conflict = row.conflicts.find((c) => c.field === attr.name);
    const value = attr.name in row.changes ? row.changes[attr.name] : conflict?.mine;
    texts[attr.name] = editorText(attr, value);
  }
  return texts;
}

export type ResubmitCheck =
  | { ok: true; fields: Record<string, string | null> }
  | { ok: false; errors: Record<string, string> };

/**
 * The corrected values to resubmit, checked field by field (`parseEditor`): the fields
 * not shown keep the device's values. Texts are canonical (see display.ts).
 */
export function resubmitFields(
  def: EntityDef | null,
  row: SyncErrorRow,
  texts: Record<string, string>,
): ResubmitCheck {
  const fields: Record<string, string | null> = { ...row.changes };
  const errors: Record<string, string> = {};
  for (const attr of editableFields(def, row)) {
    const parsed = parseEditor(attr, texts[attr.name] ?? '');
    if (parsed.ok) fields[attr.name] = parsed.value;
    else errors[attr.name] = parsed.error;
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, fields };
}

/** A value of a conflict or change as shown; blank reads as "(empty)". */
export function shownValue(
  attr: AttributeDef | null,
  value: string | null | undefined,
  names: Record<string, string> = {},
): string {
  if (value === null || value === undefined || value === '') return '(empty)';
  const name = names[value];
  const labels: Record<string, string> = attr !== null && name !== undefined ? { [attr.name]: name } : {};
  return displayValue(attr, value, labels);
}

/** A resolution made on this device that the server has not heard of yet. */
export interface Resolved {
  opId: string;
  entity: string;
  id: string;
  name: string | null;
  action: SyncErrorAction['action'];
}

/** What the list's banner says about the last resolution (with "Sync now"). */
export interface Notice {
  text: string;
  offline: boolean;
}

export class ErrorsStore {
  loaded = $state(false);
  loading = $state(false);
  loadError = $state<string | null>(null);
  /** The op id being resolved now. */
  busy = $state<string | null>(null);
  /** Names of records that lookups point at (`entity:id` → name). */
  names = $state<Record<string, string>>({});

  /** Every row `sync_errors` lists: the errors, and the resolutions waiting to be sent. */
  #all = $state<SyncErrorRow[]>([]);
  #notice = $state<(Notice & { since: number }) | null>(null);
  #run: Run;
  #syncs: () => number;

  /** `syncs`: how many syncs the shell saw finish (`syncsSeen`), to know what a sync carried. */
  constructor(run: Run, syncs: () => number = () => 0) {
    this.#run = run;
    this.#syncs = syncs;
  }

  /**
   * The errors still to resolve. (A getter, not `$derived`: the store outlives the screen
   * that first made it, and a derived would stop with that screen.)
   */
  get rows(): SyncErrorRow[] {
    return this.#all.filter((r) => !r.resolving);
  }

  /** The last resolution's outcome, until a sync finishes after it. */
  get notice(): Notice | null {
    const n = this.#notice;
    return n !== null && !this.#syncedSince(n.since) ? { text: n.text, offline: n.offline } : null;
  }

  dismissNotice(): void {
    this.#notice = null;
  }

  /** The resolutions made on this device that wait to be sent (the core keeps them). */
  get resolved(): Resolved[] {
    return this.#all
      .filter((r) => r.resolving)
      .map((r) => ({
        opId: r.op_id,
        entity: r.entity,
        id: r.id,
        name: r.name,
        action: r.resolution === 'take_server' || r.resolution === 'resubmit' ? r.resolution : 'keep_mine',
      }));
  }

  /** Reads the errors (and the resolutions waiting to be sent). */
  async load(): Promise<void> {
    this.loading = true;
    try {
      this.#all = await this.#run('sync_errors');
      this.loadError = null;
      this.loaded = true;
    } catch (error) {
      this.loadError = `Could not read the sync errors: ${toOutpostError(error).message}`;
    } finally {
      this.loading = false;
    }
  }

  /** Whether a sync finished after `since` (a count of syncs). */
  #syncedSince(since: number): boolean {
    return this.#syncs() !== since;
  }

  /** An error or a resolution waiting to be sent, by its operation. */
  find(opId: string): SyncErrorRow | null {
    return this.#all.find((r) => r.op_id === opId) ?? null;
  }

  /** Whether a resolution of this error waits to reach the server. */
  isResolving(opId: string): boolean {
    return this.resolved.some((r) => r.opId === opId);
  }

  /**
   * Resolves an error on the device, then reads the errors again. Answers null when
   * done, else what went wrong in words. `online` says whether the server can be reached.
   */
  async resolve(row: SyncErrorRow, resolution: SyncErrorAction, online: boolean): Promise<string | null> {
    if (this.busy !== null) return 'Another resolution is being saved; try again in a moment.';
    this.busy = row.op_id;
    const since = this.#syncs();
    try {
      await this.#run('sync_error_resolve', { op_id: row.op_id, resolution });
    } catch (error) {
      const e = toOutpostError(error);
      return e.code === 'not_found'
        ? 'This error was already resolved (here or on the server). The list is up to date again.'
        : `The resolution was not saved: ${e.message}`;
    } finally {
      this.busy = null;
    }
    const name = row.name ?? 'the record';
    const what =
      resolution.action === 'keep_mine'
        ? `Your change to ${name} is kept`
        : resolution.action === 'take_server'
          ? `${name} now has the server's values`
          : `Your corrected change to ${name} is saved`;
    this.#notice = {
      text: online
        ? `${what}. It reaches the server with the next sync.`
        : `${what}. You are offline: it is kept on this device and sent at the next sync.`,
      offline: !online,
      since,
    };
    await this.load();
    return null;
  }

  /** Looks up the names of the records the lookup values of an error point at. */
  async loadNames(row: SyncErrorRow, def: EntityDef | null, primaryOf: (entity: string) => string | null): Promise<void> {
    const values: string[] = [];
    const add = (v: string | null) => {
      if (v !== null && v !== '' && !values.includes(v)) values.push(v);
    };
    const isLookup = (field: string) => {
      const t = attributeDef(def, field)?.kind.type;
      return t === 'lookup' || t === 'owner';
    };
    for (const c of row.conflicts) {
      if (!isLookup(c.field)) continue;
      for (const v of [c.before, c.mine, c.server]) add(v);
    }
    for (const [field, v] of Object.entries(row.changes)) if (isLookup(field)) add(v);
    const found: Record<string, string> = {};
    await Promise.all(
      values
        .filter((v) => !(v in this.names))
        .map(async (value) => {
          const key = lookupParts(value);
          const primary = key ? primaryOf(key.entity) : null;
          if (key === null || primary === null) return;
          try {
            const detail = await this.#run('record_get', key);
            const name = detail.record.fields[primary];
            if (name) found[value] = name;
          } catch {
            // Not on this device: shown as such.
          }
        }),
    );
    if (Object.keys(found).length > 0) this.names = { ...this.names, ...found };
  }
}

const stores = new WeakMap<ShellStore, ErrorsStore>();

/** The errors store of a shell (one per signed-in app). */
export function errorsFor(shell: ShellStore): ErrorsStore {
  let store = stores.get(shell);
  if (store === undefined) {
    store = new ErrorsStore(shell.run, () => shell.syncsSeen);
    stores.set(shell, store);
  }
  return store;
}
