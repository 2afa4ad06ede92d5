/**
 * An in-memory stand-in for the Outpost core, answering the same commands as `run` with
 * a small org (accounts, contacts, tasks; a *sync* module and a *drafts* module). For
 * component and state tests only: the real core is tested in Rust, and the real bridge
 * with Playwright. A command it does not fake fails loudly.
 */
import {
  OutpostError,
  type AttributeDef,
  type CommandName,
  type Commands,
  type EntityDef,
  type Metadata,
  type RecordRow,
  type SyncErrorRow,
  type SyncStatus,
  type View,
} from '../lib/api';
import type { Run } from '../lib/state/shell.svelte';
import { attr, entity } from './builders';
import { isActivity, recordDetail } from './offers';

const text = (name: string, label: string, required = false): AttributeDef =>
  attr(name, label, { type: 'text', max_len: 100 }, required ? { requirement: 'required' } : {});

const state = attr(
  'statecode',
  'Status',
  {
    type: 'state',
    options: [
      { value: 0, label: 'Active' },
      { value: 1, label: 'Inactive' },
    ],
  },
  { updatable: false },
);

const owner = attr('ownerid', 'Owner', { type: 'owner' }, { requirement: 'required', updatable: false });

/** An entity whose form shows `columns`, with an active and an all view of them. */
function sampleEntity(
  name: string,
  label: string,
  plural: string,
  primary: string,
  attributes: AttributeDef[],
  columns: string[],
): EntityDef {
  const view = (which: 'active' | 'all'): View => ({
    id: `${name}-${which}`,
    name: `${which === 'active' ? 'Active' : 'All'} ${plural.toLowerCase()}`,
    columns,
    filter: which === 'active' ? 'statecode eq 0' : null,
    order: [[primary, 'asc']],
    default: which === 'active',
  });
  return entity({
    name,
    label,
    plural,
    primary,
    attributes,
    tabs: [['General', columns, 'Details']],
    views: [view('active'), view('all')],
  });
}

export function fakeMetadata(): Metadata {
  return {
    version: 1,
    entities: [
      sampleEntity(
        'account',
        'Account',
        'Accounts',
        'name',
        [
          text('name', 'Account name', true),
          text('telephone1', 'Phone'),
          attr('revenue', 'Annual revenue', { type: 'money', precision: 2, min: '0', max: '1000000000' }),
          attr('primarycontactid', 'Primary contact', { type: 'lookup', targets: ['contact'] }),
          owner,
          state,
        ],
        ['name', 'telephone1', 'revenue', 'primarycontactid'],
      ),
      sampleEntity(
        'contact',
        'Contact',
        'Contacts',
        'fullname',
        [text('fullname', 'Full name', true), text('emailaddress1', 'Email'), owner, state],
        ['fullname', 'emailaddress1'],
      ),
      sampleEntity(
        'task',
        'Task',
        'Tasks',
        'subject',
        [
          text('subject', 'Subject', true),
          attr('regardingobjectid', 'Regarding', { type: 'lookup', targets: ['account', 'contact'] }),
          owner,
          state,
        ],
        ['subject', 'statecode'],
      ),
    ],
    relationships: [],
    flows: [],
    app_modules: [
      {
        id: 'field-sales',
        name: 'Field Sales',
        offline: 'sync',
        entities: ['account', 'contact', 'task'],
        sitemap: [
          {
            id: 'sales',
            label: 'Sales',
            groups: [
              {
                id: 'customers',
                label: 'Customers',
                subareas: [
                  { id: 'accounts', label: 'Accounts', entity: 'account' },
                  { id: 'contacts', label: 'Contacts', entity: 'contact' },
                ],
              },
              {
                id: 'activities',
                label: 'Activities',
                subareas: [{ id: 'tasks', label: 'Tasks', entity: 'task' }],
              },
            ],
          },
        ],
      },
      {
        id: 'quick-capture',
        name: 'Quick Capture',
        offline: 'drafts',
        entities: ['account'],
        sitemap: [
          {
            id: 'capture',
            label: 'Capture',
            groups: [
              {
                id: 'capture',
                label: 'Capture',
                subareas: [{ id: 'accounts', label: 'Accounts', entity: 'account' }],
              },
            ],
          },
        ],
      },
    ],
  };
}

export function row(entity: string, id: string, fields: Record<string, string | null>): RecordRow {
  return {
    id,
    entity,
    fields: { statecode: '0', ownerid: 'systemuser:u-demo', ...fields },
    row_version: 1,
    pending: false,
    reason: 'profile',
  };
}

export function makeSyncStatus(overrides: Partial<SyncStatus> = {}): SyncStatus {
  return {
    state: 'available',
    online: true,
    syncing: false,
    locked: false,
    pending_ops: 0,
    sync_errors: 0,
    last_sync_at: '2026-11-28T10:00:00Z',
    metadata_pending: null,
    entities: ['account', 'contact', 'task'].map((entity) => ({
      entity,
      available: true,
      reason: null,
      last_sync_at: '2026-11-28T10:00:00Z',
      sync_interval_minutes: 15,
    })),
    reasons: [],
    progress: null,
    update_required: null,
    update: null,
    ...overrides,
  };
}

type Handler<K extends CommandName> = (args: Commands[K][0]) => Commands[K][1] | Promise<Commands[K][1]>;

/** The fake core: its state is public so tests can arrange and inspect it. */
export class FakeCore {
  metadata = fakeMetadata();
  records: RecordRow[] = [];
  sync = makeSyncStatus();
  errors: SyncErrorRow[] = [];
  online = true;
  calls: { cmd: CommandName; args: unknown }[] = [];
  /** The next call of a command fails with this error. */
  failNext: Partial<Record<CommandName, OutpostError>> = {};
  /** Commands answered by the test itself (they win over the built-in ones). */
  handlers: Partial<{ [K in CommandName]: Handler<K> }> = {};

  run: Run = (async (cmd: CommandName, args?: unknown) => {
    this.calls.push({ cmd, args });
    const error = this.failNext[cmd];
    if (error) {
      delete this.failNext[cmd];
      throw error;
    }
    const own = this.handlers[cmd] as ((a: unknown) => unknown) | undefined;
    if (own) return structuredClone(await own(args));
    return structuredClone(await this.#builtIn(cmd, args));
  }) as Run;

  /** The calls of one command, in order. */
  callsOf<K extends CommandName>(cmd: K): Commands[K][0][] {
    return this.calls.filter((c) => c.cmd === cmd).map((c) => c.args as Commands[K][0]);
  }

  #def(name: string): EntityDef {
    const def = this.metadata.entities.find((e) => e.name === name);
    if (!def) throw new OutpostError('invalid_input', `no entity ${name}`);
    return def;
  }

  #find(entity: string, id: string): RecordRow {
    const found = this.records.find((r) => r.entity === entity && r.id === id);
    if (!found) throw new OutpostError('not_found', `${entity} ${id} is not on this device`);
    return found;
  }

  async #builtIn(cmd: CommandName, args: unknown): Promise<unknown> {
    const a = args as Record<string, unknown>;
    switch (cmd) {
      case 'metadata_get':
        return this.metadata;
      case 'sync_status':
        return { ...this.sync, online: this.online };
      case 'server_probe':
        return this.online;
      case 'sync_now': {
        if (!this.online) throw new OutpostError('server_unreachable', 'cannot reach the server');
        const pushed = this.records.filter((r) => r.pending).length;
        this.records = this.records.map((r) => ({ ...r, pending: false }));
        this.sync = { ...this.sync, pending_ops: 0, last_sync_at: '2026-11-28T11:00:00Z' };
        return {
          pushed,
          pulled: 0,
          conflicts: 0,
          errors: 0,
          parked: 0,
          resolved: 0,
          finished_at: '2026-11-28T11:00:00Z',
        };
      }
      case 'metadata_accept':
        this.sync = { ...this.sync, metadata_pending: null, state: 'available' };
        this.metadata = { ...this.metadata, version: this.metadata.version + 1 };
        return { pushed: 0, pulled: 0, conflicts: 0, errors: 0, parked: 0, resolved: 0, finished_at: '' };
      case 'view_list':
        return this.#def(a.entity as string).views.map((v) => ({
          id: v.id,
          name: v.name,
          columns: v.columns,
          is_default: v.default,
        }));
      case 'view_page': {
        const def = this.#def(a.entity as string);
        const view = def.views.find((v) => v.id === a.view_id) ?? def.views[0];
        if (!view) throw new OutpostError('internal', 'no view');
        let rows = this.records.filter((r) => r.entity === def.name);
        if (view.filter === 'statecode eq 0') rows = rows.filter((r) => r.fields.statecode === '0');
        const [field, dir] = ((a.order_by as string | null) ?? `${view.order[0]?.[0] ?? def.primary_field} ${view.order[0]?.[1] ?? 'asc'}`).split(' ');
        rows = [...rows].sort((x, y) => {
          const c = (x.fields[field ?? ''] ?? '').localeCompare(y.fields[field ?? ''] ?? '') || x.id.localeCompare(y.id);
          return dir === 'desc' ? -c : c;
        });
        const start = a.after ? Number(a.after) : 0;
        const limit = (a.limit as number | null) ?? 100;
        const page = rows.slice(start, start + limit);
        return {
          view: { id: view.id, name: view.name, columns: view.columns, is_default: view.default },
          rows: page,
          total: rows.length,
          next: start + limit < rows.length ? String(start + limit) : null,
          last_sync_at: this.sync.last_sync_at,
          labels: {},
          can_create: true,
          can_write: true,
          is_activity: isActivity(def),
        };
      }
      case 'record_get': {
        const record = this.#find(a.entity as string, a.id as string);
        return recordDetail(this.#def(record.entity), record, {
          why: { kind: 'profile', text: 'It matches the offline profile “Field Sales”.' },
        });
      }
      case 'record_update': {
        const record = this.#find(a.entity as string, a.id as string);
        record.fields = { ...record.fields, ...(a.fields as Record<string, string | null>) };
        record.pending = true;
        this.sync = { ...this.sync, pending_ops: this.sync.pending_ops + 1 };
        return record;
      }
      case 'record_create': {
        const created = row(a.entity as string, `new-${this.records.length + 1}`, a.fields as Record<string, string | null>);
        created.pending = true;
        created.reason = null;
        this.records.push(created);
        this.sync = { ...this.sync, pending_ops: this.sync.pending_ops + 1 };
        return created;
      }
      case 'search': {
        const needle = String(a.text).toLowerCase();
        return this.records
          .filter((r) => Object.values(r.fields).some((v) => v?.toLowerCase().includes(needle)))
          .map((r) => ({ entity: r.entity, id: r.id, name: r.fields[this.#def(r.entity).primary_field] ?? null, record: r }));
      }
      case 'sync_errors':
        return this.errors;
      case 'draft_list':
        return [];
      case 'recent_list':
        return [];
      default:
        throw new OutpostError('internal', `the fake core does not answer ${cmd}`);
    }
  }
}
