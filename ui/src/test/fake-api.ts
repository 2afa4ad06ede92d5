/** An in-memory fake of the Outpost API for unit and component tests. */
import { vi } from 'vitest';
import { OutpostError, type OutpostApi, type SessionStatus } from '../lib/api';

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
    recoveries: 0,
    device_id: 'd-demo',
    update_required: null,
    ...overrides,
  };
}

export interface FakeBackend {
  status: SessionStatus;
  password: string;
  /** When set, the next call to that command fails with this error. */
  failNext: Partial<Record<keyof OutpostApi, OutpostError>>;
}

export function fakeApi(initial: Partial<FakeBackend> = {}) {
  const backend: FakeBackend = {
    status: makeStatus(),
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
  } satisfies OutpostApi;

  return { api, backend };
}
