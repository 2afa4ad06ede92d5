/** An in-memory fake of the Outpost API for unit and component tests. */
import { vi } from 'vitest';
import { OutpostError, type OutpostApi, type RecordRow, type SessionStatus } from '../lib/api';

export function account(id: string, fields: Record<string, string | null>, pending = false): RecordRow {
  return { id, entity: 'account', fields, row_version: 1, pending, reason: 'profile' };
}

export function user(id: string, fullname: string): RecordRow {
  return {
    id,
    entity: 'systemuser',
    fields: { fullname },
    row_version: 1,
    pending: false,
    reason: 'related:account.ownerid',
  };
}

export function makeStatus(overrides: Partial<SessionStatus> = {}): SessionStatus {
  return {
    signed_in: true,
    server_url: 'http://127.0.0.1:8080',
    username: 'demo',
    online: true,
    pending_ops: 0,
    last_sync_at: null,
    signed_out_reason: null,
    sync_errors: 0,
    metadata_pending: null,
    user_id: 'u-demo',
    offline_data: true,
    progress: null,
    ...overrides,
  };
}

export interface FakeBackend {
  status: SessionStatus;
  /** Account rows. */
  rows: RecordRow[];
  /** `systemuser` rows (owners are shown by their names). */
  users: RecordRow[];
  password: string;
  /** When set, the next call to that command fails with this error. */
  failNext: Partial<Record<keyof OutpostApi, OutpostError>>;
}

export function fakeApi(initial: Partial<FakeBackend> = {}) {
  const backend: FakeBackend = {
    status: makeStatus(),
    rows: [],
    users: [],
    password: 'secret',
    failNext: {},
    ...initial,
  };

  function failure(cmd: keyof OutpostApi): OutpostError | undefined {
    const error = backend.failNext[cmd];
    delete backend.failNext[cmd];
    return error;
  }

  const api = {
    sessionStatus: vi.fn<OutpostApi['sessionStatus']>(async () => {
      const error = failure('sessionStatus');
      if (error) throw error;
      return { ...backend.status };
    }),
    sessionSignIn: vi.fn<OutpostApi['sessionSignIn']>(async (args) => {
      const error = failure('sessionSignIn');
      if (error) throw error;
      if (args.password !== backend.password) {
        throw new OutpostError('unauthorized', 'invalid credentials');
      }
      backend.status = {
        ...backend.status,
        signed_in: true,
        server_url: args.server_url,
        username: args.username,
      };
      return { ...backend.status };
    }),
    recordList: vi.fn<OutpostApi['recordList']>(async (args) => {
      if (args.entity === 'systemuser') {
        return backend.users.map((r) => ({ ...r, fields: { ...r.fields } }));
      }
      const error = failure('recordList');
      if (error) throw error;
      return backend.rows.map((r) => ({ ...r, fields: { ...r.fields } }));
    }),
    recordUpdate: vi.fn<OutpostApi['recordUpdate']>(async (args) => {
      const error = failure('recordUpdate');
      if (error) throw error;
      const row = backend.rows.find((r) => r.id === args.id);
      if (!row) throw new OutpostError('not_found', `no account ${args.id}`);
      const updated: RecordRow = {
        ...row,
        fields: { ...row.fields, ...args.fields },
        row_version: row.row_version + 1,
        pending: true,
      };
      backend.rows = backend.rows.map((r) => (r.id === args.id ? updated : r));
      backend.status = { ...backend.status, pending_ops: backend.status.pending_ops + 1 };
      return { ...updated };
    }),
    syncNow: vi.fn<OutpostApi['syncNow']>(async () => {
      const error = failure('syncNow');
      if (error) throw error;
      const pushed = backend.status.pending_ops;
      backend.rows = backend.rows.map((r) => ({ ...r, pending: false }));
      const finished_at = '2024-05-01T10:00:00Z';
      backend.status = { ...backend.status, pending_ops: 0, last_sync_at: finished_at };
      return { pushed, pulled: 0, conflicts: 0, errors: 0, parked: 0, resolved: 0, finished_at };
    }),
  } satisfies OutpostApi;

  return { api, backend };
}
