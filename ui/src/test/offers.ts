/**
 * `record_get` answers for the fake cores, with what the real core computes from the
 * domain (crates/domain/src/operation/offer.rs, record.rs; crates/core/src/client/records.rs):
 * whether the record is open, its state's label, and the commands it offers with the
 * status reasons each may close it with — none when it is closed or the user may not
 * change it.
 */
import type { Allowed, CommandOffer, EntityDef, RecordDetail, RecordRow, StatusOption } from '../lib/api';

type Fields = Record<string, string | null>;

/** The record's state (0 when blank or unreadable); null when the entity has none. */
function stateOf(def: EntityDef, fields: Fields): number | null {
  if (!def.attributes.some((a) => a.name === 'statecode')) return null;
  const n = Number.parseInt(fields.statecode ?? '', 10);
  return Number.isNaN(n) ? 0 : n;
}

/** Open: no state, state 0, or a scheduled appointment (state 3). */
export function isOpen(def: EntityDef, fields: Fields): boolean {
  const state = stateOf(def, fields);
  return state === null || state === 0 || (def.name === 'appointment' && state === 3);
}

function statuses(def: EntityDef, state: number): StatusOption[] {
  const attr = def.attributes.find((a) => a.name === 'statuscode');
  return attr?.kind.type === 'status' ? attr.kind.options.filter((o) => o.state === state) : [];
}

/** The commands a record offers, as `operation::offers` lists them. */
export function offers(def: EntityDef, fields: Fields): CommandOffer[] {
  if (!isOpen(def, fields)) return [];
  const offer = (command: string, state: number | null = null): CommandOffer => ({
    command,
    statuses: state === null ? [] : statuses(def, state),
  });
  const out: CommandOffer[] =
    def.name === 'lead'
      ? [offer('lead_qualify', 1), offer('lead_disqualify', 2)]
      : def.name === 'opportunity'
        ? [offer('opportunity_close_won', 1), offer('opportunity_close_lost', 2)]
        : def.name === 'incident'
          ? [offer('case_resolve', 1)]
          : [];
  if (isActivity(def)) out.push(offer('activity_mark_complete'), offer('activity_convert_to_opportunity'));
  return out;
}

/** An activity: it has a `regardingobjectid`. */
export function isActivity(def: EntityDef): boolean {
  return def.attributes.some((a) => a.name === 'regardingobjectid');
}

/** The label of the record's state, when it has one. */
export function stateLabel(def: EntityDef, fields: Fields): string | null {
  const attr = def.attributes.find((a) => a.name === 'statecode');
  const n = Number.parseInt(fields.statecode ?? '', 10);
  if (attr === undefined || Number.isNaN(n)) return null;
  const kind = attr.kind;
  const options = kind.type === 'state' || kind.type === 'choice' || kind.type === 'status' ? kind.options : [];
  return options.find((o) => o.value === n)?.label ?? null;
}

/** A `record_get` answer for `record` of `def`, with `allowed` and `followed` as given. */
export function recordDetail(
  def: EntityDef,
  record: RecordRow,
  options: { allowed?: Partial<Allowed>; followed?: boolean; why?: RecordDetail['why'] } = {},
): RecordDetail {
  const allowed: Allowed = { write: true, delete: true, assign: true, append_to: true, ...options.allowed };
  return {
    record,
    followed: options.followed ?? false,
    why: options.why ?? { kind: 'profile', text: 'It matches your offline profile.' },
    allowed,
    labels: {},
    open: isOpen(def, record.fields),
    state_label: stateLabel(def, record.fields),
    commands: allowed.write ? offers(def, record.fields) : [],
  };
}
