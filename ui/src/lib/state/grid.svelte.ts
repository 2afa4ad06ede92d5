/**
 * An entity's grid (C7, C13): the system views, a column sort, a quick filter, keyset
 * pages of the local records loaded as the user scrolls, selection, and *Mark complete*
 * for activities (C5). The rows are never all loaded: the store keeps what was paged in
 * so far and the window of rows on screen asks for more (`want`).
 */
import { SvelteSet } from 'svelte/reactivity';
import {
  toOutpostError,
  type AttributeDef,
  type EntityDef,
  type RecordRow,
  type SortDir,
  type ViewInfo,
} from '../api';
import { attributeDef, displayValue } from './display';
import type { Run } from './shell.svelte';

/** Rows per page while scrolling. */
export const PAGE_SIZE = 100;
/** Rows per page when the window jumped far past what is loaded (a dragged scrollbar). */
export const JUMP_PAGE_SIZE = 1000;
/** Load the next page once the window comes this close to the last loaded row. */
export const LOOKAHEAD = 30;

export interface Sort {
  field: string;
  dir: SortDir;
}

/** What *Mark complete* did: how many were completed, and which failed and why. */
export interface CompleteOutcome {
  completed: number;
  failed: { id: string; name: string; reason: string }[];
}

/** The rows a virtual window shows: `[first, last)` with a margin on both sides. */
export function visibleRange(
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  count: number,
  margin: number,
): { first: number; last: number } {
  const top = Math.max(0, scrollTop);
  const first = Math.max(0, Math.floor(top / rowHeight) - margin);
  const last = Math.min(count, Math.ceil((top + Math.max(0, viewport)) / rowHeight) + margin);
  return { first, last: Math.max(first, last) };
}

/** The sort after a click on `field`'s header: the other direction, or ascending. */
export function nextSort(current: Sort | null, field: string): Sort {
  if (current !== null && current.field === field) {
    return { field, dir: current.dir === 'asc' ? 'desc' : 'asc' };
  }
  return { field, dir: 'asc' };
}

export class GridStore {
  readonly def: EntityDef;

  views = $state<ViewInfo[]>([]);
  viewId = $state<string | null>(null);
  /** The sort of a column header the user chose; null: the view's own order. */
  sort = $state<Sort | null>(null);
  /** The quick filter (`view_page` search). */
  search = $state('');
  total = $state<number | null>(null);
  next = $state<string | null>(null);
  lastSyncAt = $state<string | null>(null);
  /** Whether the user's role allows new records of the entity (New is absent otherwise). */
  canCreate = $state(true);
  /** Whether the user's role allows changing records of the entity (bulk actions). */
  canWrite = $state(true);
  /** Whether the entity is an activity, so its grid offers *Mark complete* (the core says). */
  isActivity = $state(false);
  /** The first page is being read. */
  loading = $state(false);
  /** Further pages are being read. */
  loadingMore = $state(false);
  /** The first page could not be read. */
  error = $state<string | null>(null);
  /** A further page could not be read. */
  moreError = $state<string | null>(null);
  /** Grows each time the rows start again from the top (another view, sort or filter). */
  epoch = $state(0);
  /** The row the keyboard is on. */
  active = $state(0);
  selected = new SvelteSet<string>();
  completing = $state(false);
  outcome = $state<CompleteOutcome | null>(null);

  /** Rows loaded so far; a plain array appended to in place (it can grow to 200k). */
  #rows: RecordRow[] = [];
  #labels: Record<string, string> = {};
  #version = $state(0);
  #run: Run;
  #gen = 0;
  #want = 0;
  #pageSize: number;

  constructor(run: Run, def: EntityDef, options: { pageSize?: number } = {}) {
    this.#run = run;
    this.def = def;
    this.#pageSize = options.pageSize ?? PAGE_SIZE;
  }

  get rows(): readonly RecordRow[] {
    void this.#version;
    return this.#rows;
  }

  /** `entity:id` → name of the records lookups point at, from every page loaded. */
  get labels(): Readonly<Record<string, string>> {
    void this.#version;
    return this.#labels;
  }

  view = $derived<ViewInfo | null>(this.views.find((v) => v.id === this.viewId) ?? null);

  /** The columns of the view shown, with their attribute (null for an unknown name). */
  columns = $derived.by<{ name: string; attr: AttributeDef | null; label: string }[]>(() =>
    (this.view?.columns ?? [this.def.primary_field]).map((name) => {
      const attr = attributeDef(this.def, name);
      return { name, attr, label: attr?.label ?? name };
    }),
  );

  /** The order shown: the header sort, else the view's own first key. */
  effectiveSort = $derived.by<Sort | null>(() => {
    if (this.sort !== null) return this.sort;
    const own = this.def.views.find((v) => v.id === this.viewId)?.order[0];
    return own ? { field: own[0], dir: own[1] } : null;
  });

  /** How many rows the grid is tall: the view's total while more pages wait. */
  get count(): number {
    const loaded = this.rows.length;
    return this.next === null ? loaded : Math.max(this.total ?? 0, loaded + 1);
  }

  get selectedCount(): number {
    return this.selected.size;
  }

  /** Whether every loaded row is selected (and there is one). */
  get allSelected(): boolean {
    return this.rows.length > 0 && this.selected.size >= this.rows.length && this.rows.every((r) => this.selected.has(r.id));
  }

  get someSelected(): boolean {
    return this.selected.size > 0 && !this.allSelected;
  }

  /** The name of a row, as the grid and messages say it. */
  nameOf(row: RecordRow): string {
    const name = row.fields[this.def.primary_field];
    return name === null || name === undefined || name === '' ? `(unnamed ${this.def.label.toLowerCase()})` : name;
  }

  /** A cell's text: the value as a person reads it, lookups by the name they point at. */
  cell(row: RecordRow, column: { name: string; attr: AttributeDef | null }): string {
    const value = row.fields[column.name];
    const labels: Record<string, string> = {};
    if (value !== null && value !== undefined) {
      const name = this.labels[value];
      if (name !== undefined) labels[column.name] = name;
    }
    return displayValue(column.attr, value, labels);
  }

  /** Reads the views, picks the default one, and loads its first page. */
  async init(): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      this.views = await this.#run('view_list', { entity: this.def.name });
    } catch (error) {
      this.error = toOutpostError(error).message;
      this.loading = false;
      return;
    }
    this.viewId = (this.views.find((v) => v.is_default) ?? this.views[0])?.id ?? null;
    await this.load();
  }

  /** Another view: its own order, from the top, nothing selected. */
  async setView(id: string): Promise<void> {
    if (id === this.viewId) return;
    this.viewId = id;
    this.sort = null;
    this.selected.clear();
    await this.load();
  }

  /** A click on a column header: sort by it, or the other way round. */
  async toggleSort(field: string): Promise<void> {
    this.sort = nextSort(this.effectiveSort, field);
    await this.load();
  }

  /** The quick filter changed. */
  async setSearch(text: string): Promise<void> {
    if (text.trim() === this.search.trim()) {
      this.search = text;
      return;
    }
    this.search = text;
    await this.load();
  }

  /**
   * Reads the first page again. From the top (`keep` false: another view, sort or filter)
   * or in place after local changes (`keep`: as many rows as were loaded, up to a jump
   * page, and the selection of the rows still there).
   */
  async load(options: { keep?: boolean } = {}): Promise<void> {
    const keep = options.keep === true;
    const gen = ++this.#gen;
    this.loading = true;
    this.loadingMore = false;
    this.error = null;
    this.moreError = null;
    if (!keep) {
      this.epoch += 1;
      this.active = 0;
      this.#want = 0;
    }
    const limit = keep
      ? Math.min(JUMP_PAGE_SIZE, Math.max(this.#pageSize, this.#rows.length))
      : this.#pageSize;
    try {
      const page = await this.#run('view_page', {
        entity: this.def.name,
        view_id: this.viewId,
        search: this.search.trim() === '' ? null : this.search.trim(),
        after: null,
        limit,
        order_by: this.sort === null ? null : `${this.sort.field} ${this.sort.dir}`,
      });
      if (gen !== this.#gen) return;
      this.#rows = page.rows.map((r) => this.#slim(r, page.view.columns));
      this.#labels = { ...page.labels };
      this.total = page.total;
      this.next = page.next;
      this.lastSyncAt = page.last_sync_at;
      this.canCreate = page.can_create;
      this.canWrite = page.can_write;
      this.isActivity = page.is_activity;
      if (this.viewId === null) this.viewId = page.view.id;
      // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local lookup, not state
      const ids = new Set(this.#rows.map((r) => r.id));
      for (const id of [...this.selected]) if (!ids.has(id)) this.selected.delete(id);
      this.active = Math.min(this.active, Math.max(0, this.#rows.length - 1));
      this.#version += 1;
    } catch (error) {
      if (gen !== this.#gen) return;
      this.#rows = [];
      this.#version += 1;
      this.total = null;
      this.next = null;
      this.error = toOutpostError(error).message;
    } finally {
      if (gen === this.#gen) this.loading = false;
    }
    if (gen === this.#gen) await this.#fill();
  }

  /**
   * The window needs rows up to `index`: loads further pages (one after another; keyset
   * pages cannot skip) until they are there or the view has no more.
   */
  async want(index: number): Promise<void> {
    this.#want = Math.max(this.#want, index);
    await this.#fill();
  }

  /** Tries a further page again after it failed. */
  async retryMore(): Promise<void> {
    this.moreError = null;
    await this.#fill();
  }

  async #fill(): Promise<void> {
    if (this.loading || this.loadingMore || this.moreError !== null) return;
    const gen = this.#gen;
    this.loadingMore = true;
    try {
      while (this.next !== null && this.#want >= this.#rows.length - LOOKAHEAD) {
        const gap = this.#want - this.#rows.length;
        const limit = gap > this.#pageSize ? Math.min(JUMP_PAGE_SIZE, gap + this.#pageSize) : this.#pageSize;
        const page = await this.#run('view_page', {
          entity: this.def.name,
          view_id: this.viewId,
          search: this.search.trim() === '' ? null : this.search.trim(),
          after: this.next,
          limit,
          order_by: this.sort === null ? null : `${this.sort.field} ${this.sort.dir}`,
        });
        if (gen !== this.#gen) return;
        for (const r of page.rows) this.#rows.push(this.#slim(r, page.view.columns));
        Object.assign(this.#labels, page.labels);
        this.next = page.next;
        if (page.last_sync_at !== null) this.lastSyncAt = page.last_sync_at;
        this.#version += 1;
      }
    } catch (error) {
      if (gen === this.#gen) this.moreError = toOutpostError(error).message;
    } finally {
      if (gen === this.#gen) this.loadingMore = false;
    }
  }

  /**
   * A row with only the fields the grid shows (its columns and its name): a grid may hold
   * tens of thousands of rows, and a record has dozens of fields.
   */
  #slim(row: RecordRow, columns: readonly string[]): RecordRow {
    const fields: RecordRow['fields'] = {};
    for (const name of columns) fields[name] = row.fields[name] ?? null;
    fields[this.def.primary_field] = row.fields[this.def.primary_field] ?? null;
    return { ...row, fields };
  }

  toggle(id: string): void {
    if (this.selected.has(id)) this.selected.delete(id);
    else this.selected.add(id);
  }

  /** Selects every loaded row, or none when all are. */
  toggleAll(): void {
    if (this.allSelected) {
      this.selected.clear();
    } else {
      for (const row of this.#rows) this.selected.add(row.id);
    }
  }

  clearSelection(): void {
    this.selected.clear();
  }

  /** Moves the keyboard's row by `delta` (clamped); answers the new index. */
  move(delta: number): number {
    const last = Math.max(0, this.count - 1);
    this.active = Math.min(last, Math.max(0, this.active + delta));
    return this.active;
  }

  moveTo(index: number): number {
    return this.move(index - this.active);
  }

  /**
   * *Mark complete* on every selected row, one after another (C5): each is its own
   * offline command. The completed ones leave the selection, the failed ones stay.
   */
  async markComplete(): Promise<CompleteOutcome> {
    const rows = this.#rows.filter((r) => this.selected.has(r.id));
    const outcome: CompleteOutcome = { completed: 0, failed: [] };
    this.completing = true;
    this.outcome = null;
    try {
      for (const row of rows) {
        try {
          await this.#run('command_run', {
            command: 'activity_mark_complete',
            entity: this.def.name,
            id: row.id,
          });
          outcome.completed += 1;
          this.selected.delete(row.id);
        } catch (error) {
          outcome.failed.push({ id: row.id, name: this.nameOf(row), reason: toOutpostError(error).message });
        }
      }
    } finally {
      this.completing = false;
    }
    this.outcome = outcome;
    return outcome;
  }
}
