/**
 * Search over the device's records (C8, B5): categorized (one entity's quick-find
 * columns) or across every entity of the app module at once, dates too (`yyyy-mm-dd`).
 * Hits come back best first; the page shows them grouped by entity, in the module's order.
 */
import { toOutpostError, type AttributeDef, type EntityDef, type SearchHitRow } from '../api';
import { attributeDef, displayValue } from './display';
import type { Run } from './shell.svelte';

/** Hits asked for at most. */
export const SEARCH_LIMIT = 100;

/** One quick-find value of a hit, as a person reads it. */
export interface HitValue {
  name: string;
  label: string;
  text: string;
}

export interface SearchGroup {
  entity: string;
  /** The entity's plural name. */
  label: string;
  hits: SearchHitRow[];
}

/**
 * The hits grouped by entity: groups in `order` (the module's entities) and then any
 * other in the order met; hits in each group keep their rank.
 */
export function groupHits(
  hits: readonly SearchHitRow[],
  order: readonly string[],
  defOf: (entity: string) => EntityDef | null,
): SearchGroup[] {
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local lookup, not state
  const byEntity = new Map<string, SearchHitRow[]>();
  for (const hit of hits) {
    const list = byEntity.get(hit.entity);
    if (list) list.push(hit);
    else byEntity.set(hit.entity, [hit]);
  }
  const entities = [
    ...order.filter((e) => byEntity.has(e)),
    ...[...byEntity.keys()].filter((e) => !order.includes(e)),
  ];
  return entities.map((entity) => ({
    entity,
    label: defOf(entity)?.plural ?? entity,
    hits: byEntity.get(entity) ?? [],
  }));
}

/**
 * The quick-find values of a hit other than its name, as a person reads them (dates as
 * dates, choices by label). Lookups are not searched, so they are not shown.
 */
export function hitValues(def: EntityDef | null, hit: SearchHitRow, locale?: string): HitValue[] {
  if (def === null) return [];
  return def.quick_find
    .filter((name) => name !== def.primary_field)
    .map((name) => attributeDef(def, name))
    .filter((attr): attr is AttributeDef => attr !== null)
    .filter((attr) => attr.kind.type !== 'lookup' && attr.kind.type !== 'owner')
    .map((attr) => ({
      name: attr.name,
      label: attr.label,
      text: displayValue(attr, hit.record.fields[attr.name], {}, locale),
    }))
    .filter((v) => v.text !== '');
}

/** The labels of the columns a search looks in, for the hint under the field. */
export function searchedColumns(def: EntityDef): string[] {
  const names = def.quick_find.length > 0 ? def.quick_find : [def.primary_field];
  return names
    .map((name) => attributeDef(def, name))
    .filter((attr): attr is AttributeDef => attr !== null)
    .filter((attr) => attr.kind.type !== 'lookup' && attr.kind.type !== 'owner')
    .map((attr) => attr.label);
}

export class SearchStore {
  /** What was searched last (the results belong to it). */
  text = $state('');
  entity = $state<string | null>(null);
  groups = $state<SearchGroup[]>([]);
  count = $state(0);
  loading = $state(false);
  error = $state<string | null>(null);
  /** A search ran (and answered) for `text` and `entity`. */
  done = $state(false);
  /** The hits reached the limit: there may be more. */
  capped = $state(false);

  #run: Run;
  #defOf: (entity: string) => EntityDef | null;
  #gen = 0;

  constructor(run: Run, defOf: (entity: string) => EntityDef | null) {
    this.#run = run;
    this.#defOf = defOf;
  }

  /**
   * Searches `text` in one entity (categorized) or in all of `all` (the module's
   * entities; every offline entity when empty).
   */
  async search(text: string, entity: string | null, all: readonly string[]): Promise<void> {
    const gen = ++this.#gen;
    this.text = text;
    this.entity = entity;
    this.error = null;
    if (text.trim() === '') {
      this.groups = [];
      this.count = 0;
      this.done = false;
      this.loading = false;
      return;
    }
    this.loading = true;
    try {
      const hits = await this.#run('search', {
        text: text.trim(),
        entities: entity !== null ? [entity] : all.length > 0 ? [...all] : null,
        limit: SEARCH_LIMIT,
      });
      if (gen !== this.#gen) return;
      this.groups = groupHits(hits, all, this.#defOf);
      this.count = hits.length;
      this.capped = hits.length >= SEARCH_LIMIT;
      this.done = true;
    } catch (error) {
      if (gen !== this.#gen) return;
      this.groups = [];
      this.count = 0;
      this.done = false;
      this.error = toOutpostError(error).message;
    } finally {
      if (gen === this.#gen) this.loading = false;
    }
  }
}
