/**
 * A record's form (C3–C5, B3): the values being edited and their checks, what a save
 * sends (only the fields that changed), which commands a record offers, where its
 * business process flow stands, and the calls behind each of them. The screen
 * (`pages/RecordPage.svelte`, `components/form/`) only renders this state.
 *
 * Values travel as canonical text (ADR 0005); editors hold what the person typed
 * (`display.ts` `editorText` / `parseEditor`), so "changed" means "the editor text is not
 * what it was when the record was loaded" — re-typing the old value is no change.
 */
import {
  toOutpostError,
  type AttributeDef,
  type CommandArgs,
  type EntityDef,
  type Metadata,
  type ProcessFlow,
  type RecordDetail,
  type RecordKey,
  type StatusOption,
} from '../api';
import { editorText, parseEditor } from './display';
import type { Run } from './shell.svelte';

export type Fields = Record<string, string | null>;

/**
 * A user-facing sentence for a failed call: the core's message is the substance (it says
 * what was refused and why); the code decides the framing.
 */
export function failureText(error: unknown, doing: string): string {
  const e = toOutpostError(error);
  switch (e.code) {
    case 'invalid_input':
      return `Check the values: ${e.message}`;
    case 'forbidden':
      return `You may not do this: ${e.message}`;
    case 'refused':
      return `Not done: ${e.message}`;
    case 'not_found':
      return `This record is not on this device any more (${e.message})`;
    case 'server_unreachable':
      return 'You are offline: this needs a connection to the server. Try again when you are back online.';
    default:
      return `${doing} failed: ${e.message}`;
  }
}

// ---------------------------------------------------------------------------------------
// Pure helpers

/** The options an editor of a choice, state or status field offers on this record. */
export function choicesFor(attr: AttributeDef, fields: Fields): { value: number; label: string }[] {
  switch (attr.kind.type) {
    case 'choice':
    case 'state':
      return attr.kind.options;
    case 'status': {
      // An update may change the status reason only within the record's state.
      const state = Number(fields.statecode ?? '0');
      const all = attr.kind.options;
      const mine = all.filter((o) => o.state === (Number.isNaN(state) ? 0 : state));
      return mine.length > 0 ? mine : all;
    }
    default:
      return [];
  }
}

/** The attributes a form shows, tab by tab and section by section (unknown names skipped). */
export interface FormLayout {
  tabs: {
    name: string;
    label: string;
    sections: { name: string; label: string; fields: AttributeDef[] }[];
  }[];
}

/**
 * The entity's first form. Creating, the fields a person cannot set (owner, state,
 * created on…) are left out: the system stamps them. An entity without a form gets one
 * tab of every attribute.
 */
export function formLayout(def: EntityDef, creating: boolean): FormLayout {
  const byName = { get: (name: string) => def.attributes.find((a) => a.name === name) };
  const keep = (a: AttributeDef | undefined): a is AttributeDef =>
    a !== undefined && (!creating || a.updatable);
  const form = def.forms[0];
  const tabs = form
    ? form.tabs.map((t) => ({
        name: t.name,
        label: t.label,
        sections: t.sections
          .map((s) => ({ name: s.name, label: s.label, fields: s.fields.map((f) => byName.get(f)).filter(keep) }))
          .filter((s) => s.fields.length > 0),
      }))
    : [
        {
          name: 'general',
          label: 'General',
          sections: [{ name: 'all', label: def.label, fields: def.attributes.filter((a) => keep(a)) }],
        },
      ];
  return { tabs: tabs.filter((t) => t.sections.length > 0) };
}

/** Every command a record's command bar may offer. */
export type CommandKind =
  | 'qualify'
  | 'disqualify'
  | 'close_won'
  | 'close_lost'
  | 'resolve'
  | 'mark_complete'
  | 'convert'
  | 'follow'
  | 'unfollow'
  | 'assign'
  | 'delete';

export const COMMAND_LABELS: Record<CommandKind, string> = {
  qualify: 'Qualify',
  disqualify: 'Disqualify',
  close_won: 'Close as won',
  close_lost: 'Close as lost',
  resolve: 'Resolve case',
  mark_complete: 'Mark complete',
  convert: 'Convert to opportunity',
  follow: 'Follow',
  unfollow: 'Unfollow',
  assign: 'Assign',
  delete: 'Delete',
};

/** The command bar's name of each command a record may offer (`RecordDetail.commands`). */
const OFFERED: Record<string, CommandKind> = {
  lead_qualify: 'qualify',
  lead_disqualify: 'disqualify',
  opportunity_close_won: 'close_won',
  opportunity_close_lost: 'close_lost',
  case_resolve: 'resolve',
  activity_mark_complete: 'mark_complete',
  activity_convert_to_opportunity: 'convert',
};

/**
 * The commands that apply to this record and that the user may run (C3, C5): absent
 * rather than disabled when they do not apply. The core says which of the record's own
 * commands it offers (none on a closed record or without write access); following needs
 * only to read it, assigning and deleting need their own rights.
 */
export function commandsFor(
  def: EntityDef,
  detail: Pick<RecordDetail, 'allowed' | 'followed' | 'commands'>,
): CommandKind[] {
  const out: CommandKind[] = [];
  for (const offer of detail.commands) {
    const kind = OFFERED[offer.command];
    if (kind !== undefined && !out.includes(kind)) out.push(kind);
  }
  out.push(detail.followed ? 'unfollow' : 'follow');
  if (detail.allowed.assign && def.attributes.some((a) => a.kind.type === 'owner')) out.push('assign');
  if (detail.allowed.delete) out.push('delete');
  return out;
}

/** The status reasons a command may close the record with (its dialog's choices). */
export function statusesFor(detail: Pick<RecordDetail, 'commands'> | null, kind: CommandKind): StatusOption[] {
  return detail?.commands.find((o) => OFFERED[o.command] === kind)?.statuses ?? [];
}

/** What a command's dialog collects (texts as typed). */
export interface CommandInput {
  createAccount?: boolean;
  createContact?: boolean;
  createOpportunity?: boolean;
  /** A status reason, by number. */
  status?: string;
  revenue?: string;
  description?: string;
  competitor?: string;
  subject?: string;
  minutes?: string;
  /** The new owner, `systemuser:<id>` or `team:<id>`. */
  owner?: string;
}

/**
 * The `command_run` arguments of a command, or what is missing in words. Delete is not
 * a command (`record_delete`).
 */
export function commandArgs(
  kind: Exclude<CommandKind, 'delete'>,
  key: RecordKey,
  input: CommandInput = {},
): { ok: true; args: CommandArgs } | { ok: false; error: string } {
  const blankIsNull = (t: string | undefined) => (t === undefined || t.trim() === '' ? null : t.trim());
  const status = Number(input.status ?? '');
  const hasStatus = (input.status ?? '') !== '' && Number.isInteger(status);
  switch (kind) {
    case 'qualify':
      if (!input.createAccount && !input.createContact && !input.createOpportunity) {
        return { ok: false, error: 'Choose at least one record to create from the lead.' };
      }
      return {
        ok: true,
        args: {
          command: 'lead_qualify',
          lead_id: key.id,
          create_account: input.createAccount === true,
          create_contact: input.createContact === true,
          create_opportunity: input.createOpportunity === true,
        },
      };
    case 'disqualify':
      return hasStatus
        ? { ok: true, args: { command: 'lead_disqualify', lead_id: key.id, status } }
        : { ok: false, error: 'Choose why the lead is disqualified.' };
    case 'close_won': {
      const revenue = blankIsNull(input.revenue)?.replace(/\s/g, '') ?? null;
      if (revenue !== null && !/^\d+(\.\d{1,4})?$/.test(revenue)) {
        return { ok: false, error: 'Actual revenue must be an amount like 25000.00 (or empty for the estimate).' };
      }
      return {
        ok: true,
        args: {
          command: 'opportunity_close_won',
          id: key.id,
          actual_revenue: revenue,
          description: blankIsNull(input.description),
        },
      };
    }
    case 'close_lost':
      return hasStatus
        ? {
            ok: true,
            args: {
              command: 'opportunity_close_lost',
              id: key.id,
              status,
              competitor: blankIsNull(input.competitor),
              description: blankIsNull(input.description),
            },
          }
        : { ok: false, error: 'Choose why the opportunity was lost.' };
    case 'resolve': {
      if (!hasStatus) return { ok: false, error: 'Choose the resolution type.' };
      const subject = blankIsNull(input.subject);
      if (subject === null) return { ok: false, error: 'Describe the resolution.' };
      const minutes = blankIsNull(input.minutes);
      if (minutes !== null && !/^\d+$/.test(minutes)) {
        return { ok: false, error: 'Time spent is a whole number of minutes.' };
      }
      return {
        ok: true,
        args: {
          command: 'case_resolve',
          id: key.id,
          status,
          subject,
          time_spent_minutes: minutes === null ? null : Number(minutes),
        },
      };
    }
    case 'mark_complete':
      return { ok: true, args: { command: 'activity_mark_complete', entity: key.entity, id: key.id } };
    case 'convert':
      return { ok: true, args: { command: 'activity_convert_to_opportunity', entity: key.entity, id: key.id } };
    case 'follow':
    case 'unfollow':
      return { ok: true, args: { command: kind, entity: key.entity, id: key.id } };
    case 'assign': {
      const at = input.owner?.indexOf(':') ?? -1;
      if (input.owner === undefined || at <= 0) return { ok: false, error: 'Choose the new owner.' };
      return {
        ok: true,
        args: {
          command: 'assign',
          entity: key.entity,
          id: key.id,
          owner_entity: input.owner.slice(0, at),
          owner_id: input.owner.slice(at + 1),
        },
      };
    }
  }
}

/** The business process flow of an entity (single-entity flows, C4), if it has one. */
export function flowFor(metadata: Metadata | null, entity: string): ProcessFlow | null {
  return metadata?.flows.find((f) => f.entity === entity && f.stages.length > 0) ?? null;
}

/** The active stage's index: the record's `activestageid`, else the first stage. */
export function activeStageIndex(flow: ProcessFlow, fields: Fields): number {
  const at = flow.stages.findIndex((s) => s.id === fields.activestageid);
  return at < 0 ? 0 : at;
}

/**
 * What keeps a record from moving forward from stage `from` to `to`: for each stage left
 * behind, its required steps that are empty ("Qualify needs Potential customer and Est.
 * revenue"). Moving back is always allowed. The core checks the same on save.
 */
export function missingSteps(
  flow: ProcessFlow,
  def: EntityDef,
  fields: Fields,
  from: number,
  to: number,
): string[] {
  const label = (name: string) => def.attributes.find((a) => a.name === name)?.label ?? name;
  return flow.stages.slice(from, Math.max(from, to)).flatMap((stage) => {
    const empty = stage.steps
      .filter((s) => s.required && (fields[s.attribute] ?? '').trim() === '')
      .map((s) => label(s.attribute));
    if (empty.length === 0) return [];
    const list = empty.length === 1 ? empty[0] : `${empty.slice(0, -1).join(', ')} and ${empty.at(-1)}`;
    return [`${stage.name} needs ${list}`];
  });
}

/** Where a flow move goes. */
export type FlowMove = { to: 'next' } | { to: 'previous' } | { to: 'stage'; stageId: string };

/** The stage index a move lands on, or null when it cannot move that way. */
export function flowTarget(flow: ProcessFlow, current: number, move: FlowMove): number | null {
  switch (move.to) {
    case 'next':
      return current + 1 < flow.stages.length ? current + 1 : null;
    case 'previous':
      return current > 0 ? current - 1 : null;
    case 'stage': {
      const at = flow.stages.findIndex((s) => s.id === move.stageId);
      return at < 0 || at === current ? null : at;
    }
  }
}

/** The command of a flow move. */
export function flowArgs(key: RecordKey, flow: ProcessFlow, move: FlowMove): CommandArgs {
  const base = { entity: key.entity, id: key.id, flow_id: flow.id };
  switch (move.to) {
    case 'next':
      return { command: 'flow_next', ...base };
    case 'previous':
      return { command: 'flow_previous', ...base };
    case 'stage':
      return { command: 'flow_set_active', ...base, stage_id: move.stageId };
  }
}

// ---------------------------------------------------------------------------------------
// The values being edited

/**
 * The editors of one record: the text each holds, what it held when loaded, the names
 * behind lookups, and the per-field messages. Tracks every attribute of the entity, so
 * the form and the flow bar edit the same values.
 */
export class FormModel {
  readonly def: EntityDef;
  /** A new record (or draft): every field is checked, not only the changed ones. */
  readonly creating: boolean;
  /** The form's tabs and sections. */
  readonly layout: FormLayout;
  /** The form's fields in order (for checks and focus). */
  readonly order: string[];
  /** The canonical values as loaded. */
  values = $state<Fields>({});
  texts = $state<Record<string, string>>({});
  initial = $state<Record<string, string>>({});
  /** `field → name` of the records lookups point at. */
  labels = $state<Record<string, string>>({});
  errors = $state<Record<string, string>>({});
  /** Nothing may be changed (no write access, a closed record, a read-only copy). */
  readOnly = $state(false);

  changed = $derived(
    Object.keys(this.texts).filter((name) => (this.texts[name] ?? '') !== (this.initial[name] ?? '')),
  );
  dirty = $derived(this.changed.length > 0);

  constructor(def: EntityDef, creating = false) {
    this.def = def;
    this.creating = creating;
    this.layout = formLayout(def, creating);
    this.order = this.layout.tabs.flatMap((t) => t.sections.flatMap((s) => s.fields.map((f) => f.name)));
    this.load({}, {});
  }

  attr(name: string): AttributeDef | null {
    return this.def.attributes.find((a) => a.name === name) ?? null;
  }

  /** Whether a person may change this field here. */
  editable(name: string): boolean {
    const attr = this.attr(name);
    return attr !== null && !this.readOnly && attr.updatable;
  }

  /** Starts over from these values (a load, a save's answer). */
  load(values: Fields, labels: Record<string, string>): void {
    const texts: Record<string, string> = {};
    for (const attr of this.def.attributes) texts[attr.name] = editorText(attr, values[attr.name]);
    this.values = { ...values };
    this.texts = texts;
    this.initial = { ...texts };
    this.labels = { ...labels };
    this.errors = {};
  }

  setText(name: string, text: string): void {
    this.texts[name] = text;
    if (this.errors[name] !== undefined) this.check(name);
  }

  /** Sets a lookup to a record (`entity:id`, shown by `label`), or clears it. */
  setLookup(name: string, value: string | null, label?: string): void {
    this.texts[name] = value ?? '';
    if (value !== null && label !== undefined) this.labels[name] = label;
    if (value === null) delete this.labels[name];
    this.check(name);
  }

  /** Checks one field now (on leaving it); answers whether it is fine. */
  check(name: string): boolean {
    const attr = this.attr(name);
    if (attr === null || !this.editable(name)) return true;
    const result = parseEditor(attr, this.texts[name] ?? '');
    if (result.ok) {
      delete this.errors[name];
      return true;
    }
    this.errors[name] = result.error;
    return false;
  }

  /**
   * Checks what a save sends: every editable field of the form (and every changed one)
   * when creating, else the fields that changed. Answers whether all are fine.
   */
  validate(): boolean {
    const names = this.creating
      ? [...this.order, ...this.changed.filter((f) => !this.order.includes(f))].filter((f) => this.editable(f))
      : this.changed;
    let ok = true;
    for (const name of names) ok = this.check(name) && ok;
    return ok;
  }

  /** The changed fields as canonical values: what a save sends (null = cleared). */
  changes(): Fields {
    const out: Fields = {};
    for (const name of this.changed) {
      const attr = this.attr(name);
      if (attr === null || !this.editable(name)) continue;
      const result = parseEditor(attr, this.texts[name] ?? '');
      if (result.ok) out[name] = result.value;
    }
    return out;
  }

  /** The first field with a message, in form order (to focus it). */
  firstError(): string | null {
    return this.order.find((f) => this.errors[f] !== undefined) ?? Object.keys(this.errors)[0] ?? null;
  }

  /** Puts the editors back to what was loaded. */
  discard(): void {
    this.texts = { ...this.initial };
    this.errors = {};
  }

  /** The unsaved texts, to keep them while the person looks elsewhere. */
  unsaved(): Record<string, string> {
    return Object.fromEntries(this.changed.map((n) => [n, this.texts[n] ?? '']));
  }

  /** Brings back unsaved texts kept from before. */
  restore(texts: Record<string, string>, labels: Record<string, string>): void {
    for (const [name, text] of Object.entries(texts)) {
      if (this.attr(name) !== null) this.texts[name] = text;
    }
    for (const [name, label] of Object.entries(labels)) this.labels[name] = label;
  }
}

/**
 * Unsaved edits of records the person navigated away from (the back button, the search
 * box): kept in memory for this window, so nothing typed is lost. Keyed `entity/id`.
 */
const kept: Record<string, { texts: Record<string, string>; labels: Record<string, string> }> = {};

export function keepUnsaved(key: string, model: FormModel): void {
  if (model.dirty) kept[key] = { texts: model.unsaved(), labels: { ...model.labels } };
  else delete kept[key];
}

/** How many forms left with unsaved edits are kept in memory (lost if the app restarts). */
export function unsavedKept(): number {
  return Object.keys(kept).length;
}

export function takeUnsaved(key: string): { texts: Record<string, string>; labels: Record<string, string> } | null {
  const found = kept[key] ?? null;
  delete kept[key];
  return found;
}

// ---------------------------------------------------------------------------------------
// Stores that call the core

/** How a store reaches the core: `run` (the shell's; a fake one in tests), `touched` after a change. */
export interface StoreOptions {
  run: Run;
  /** The shell's `touched`, so other screens reload. */
  touched?: () => void;
}

/** A store that calls the core, and tells the shell when it changed something. */
export class CoreStore {
  protected readonly run: Run;
  protected readonly touched: () => void;

  constructor(options: StoreOptions) {
    this.run = options.run;
    this.touched = options.touched ?? (() => {});
  }
}

/**
 * What a record's screen and a draft's share: one record's form (`model`) of an entity,
 * made new (`id` null until it is first saved) or opened, and a save that checks the
 * form first and sends only what changed.
 */
export abstract class RecordEditor extends CoreStore {
  readonly def: EntityDef;
  readonly metadata: Metadata;
  /** null for a new one, until it is first saved. */
  id = $state<string | null>(null);
  model: FormModel;
  loading = $state(false);
  busy = $state(false);
  /** Why the last save (or other action) failed, shown next to the form. */
  error = $state<string | null>(null);

  constructor(metadata: Metadata, def: EntityDef, id: string | null, creating: boolean, options: StoreOptions) {
    super(options);
    this.metadata = metadata;
    this.def = def;
    this.id = id;
    this.model = new FormModel(def, creating);
  }

  /**
   * Checks the form (else `error` says `invalid`), then hands the changed fields to
   * `send` — unless nothing changed in an existing one — and tells the shell. Answers
   * whether it saved; `error` says why not (`doing`: what failed, in words).
   */
  protected async saveChanges(invalid: string, doing: string, send: (fields: Fields) => Promise<void>): Promise<boolean> {
    if (!this.model.validate()) {
      this.error = invalid;
      return false;
    }
    const fields = this.model.changes();
    this.error = null;
    if (this.id !== null && Object.keys(fields).length === 0) return true;
    this.busy = true;
    try {
      await send(fields);
      return true;
    } catch (error) {
      this.error = failureText(error, doing);
      return false;
    } finally {
      this.busy = false;
    }
  }
}

// ---------------------------------------------------------------------------------------
// One record

/** A record created by a command, with its name for the link. */
export interface CreatedRecord {
  entity: string;
  id: string;
  name: string;
}

/**
 * A record's screen: loads `record_get`, saves changes, runs commands and flow moves.
 * Every change calls `touched` (the shell's `touched`, so other screens reload).
 */
export class RecordStore extends RecordEditor {
  detail = $state<RecordDetail | null>(null);
  /** Why the record could not be read. */
  loadError = $state<{ code: string; text: string } | null>(null);
  /** What the last command created. */
  created = $state<CreatedRecord[]>([]);

  flow = $derived.by(() => flowFor(this.metadata, this.def.name));
  stage = $derived.by(() => (this.flow === null ? 0 : activeStageIndex(this.flow, this.detail?.record.fields ?? {})));
  commands = $derived.by(() => (this.detail === null ? [] : commandsFor(this.def, this.detail)));
  name = $derived.by(() => {
    const value = this.detail?.record.fields[this.def.primary_field];
    return value !== null && value !== undefined && value !== '' ? value : null;
  });
  /** Whether the record is open (the core says): only open records change. */
  open = $derived(this.detail?.open ?? true);

  constructor(metadata: Metadata, def: EntityDef, id: string | null, options: StoreOptions) {
    super(metadata, def, id, id === null, options);
  }

  get key(): RecordKey | null {
    return this.id === null ? null : { entity: this.def.name, id: this.id };
  }

  /** Reads the record (again); unsaved edits are dropped. */
  async load(): Promise<void> {
    const key = this.key;
    if (key === null) return;
    this.loading = true;
    try {
      const detail = await this.run('record_get', key);
      this.detail = detail;
      this.loadError = null;
      this.model.load(detail.record.fields, detail.labels);
      this.model.readOnly = !detail.allowed.write || !detail.open;
    } catch (error) {
      const e = toOutpostError(error);
      this.loadError = { code: e.code, text: failureText(e, 'Opening the record') };
    } finally {
      this.loading = false;
    }
  }

  /**
   * Saves: `record_update` with only the changed fields, or `record_create` for a new
   * record (then `id` is set). Answers whether it saved; field messages or `error` say
   * why not.
   */
  save(): Promise<boolean> {
    const invalid = 'Some fields need attention before saving — see the messages beside them.';
    return this.saveChanges(invalid, 'Saving', async (fields) => {
      if (this.id === null) {
        const row = await this.run('record_create', { entity: this.def.name, fields });
        this.id = row.id;
      } else {
        await this.run('record_update', { entity: this.def.name, id: this.id, fields });
      }
      this.touched();
      await this.load();
    });
  }

  /** Deletes the record; answers whether it did. */
  async remove(): Promise<boolean> {
    const key = this.key;
    if (key === null) return false;
    this.busy = true;
    this.error = null;
    try {
      await this.run('record_delete', key);
      this.touched();
      return true;
    } catch (error) {
      this.error = failureText(error, 'Deleting');
      return false;
    } finally {
      this.busy = false;
    }
  }

  /**
   * Runs a command (C5) and reloads; `created` lists what it made. Unsaved edits are
   * saved first (a command works on what is stored). Answers the error text, or null
   * when it ran.
   */
  async command(args: CommandArgs): Promise<string | null> {
    if (this.model.dirty && !(await this.save())) {
      return this.error ?? 'Save your changes first.';
    }
    this.busy = true;
    try {
      const result = await this.run('command_run', args);
      this.touched();
      this.created = await Promise.all(
        result.created.map(async (key) => ({ ...key, name: await this.#nameOf(key) })),
      );
      this.error = null;
      if (result.record !== null) await this.load();
      return null;
    } catch (error) {
      return failureText(error, 'The command');
    } finally {
      this.busy = false;
    }
  }

  /**
   * Moves the flow (C4). Unsaved edits are saved first (the flow checks what is stored);
   * required steps left empty stop a forward move with a message naming them.
   */
  async moveFlow(move: FlowMove): Promise<string | null> {
    const flow = this.flow;
    const key = this.key;
    if (flow === null || key === null) return null;
    const target = flowTarget(flow, this.stage, move);
    if (target === null) {
      return move.to === 'next'
        ? `${flow.stages.at(-1)?.name ?? 'This'} is the last stage.`
        : move.to === 'previous'
          ? `${flow.stages[0]?.name ?? 'This'} is the first stage.`
          : null;
    }
    if (this.model.dirty && !(await this.save())) {
      return this.error ?? 'Save your changes before moving the process on.';
    }
    this.error = null;
    const fields = this.detail?.record.fields ?? {};
    const missing = missingSteps(flow, this.def, fields, this.stage, target);
    if (missing.length > 0) {
      return `Fill in the required steps before moving to ${flow.stages[target]?.name ?? 'the next stage'}: ${missing.join('; ')}.`;
    }
    return this.command(flowArgs(key, flow, move));
  }

  async #nameOf(key: RecordKey): Promise<string> {
    const def = this.metadata.entities.find((e) => e.name === key.entity);
    try {
      const detail = await this.run('record_get', key);
      const name = def ? detail.record.fields[def.primary_field] : null;
      return name ?? `${def?.label ?? key.entity} ${key.id}`;
    } catch {
      return `${def?.label ?? key.entity} ${key.id}`;
    }
  }
}
