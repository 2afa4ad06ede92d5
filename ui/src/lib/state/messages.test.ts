import { describe, expect, it } from 'vitest';
import { OutpostError } from '../api';
import {
  OFFLINE_SYNC_MESSAGE,
  WIPED_MESSAGE,
  signInErrorMessage,
  signedOutMessage,
  syncErrorMessage,
} from './messages';

describe('messages branch on the error code, not the text', () => {
  it('a session that ended by itself says why', () => {
    expect(signedOutMessage('session_ended')).toMatch(/offline changes are kept/);
    expect(signedOutMessage('wiped')).toBe(WIPED_MESSAGE);
    expect(signedOutMessage('wiped_sealed')).toMatch(/sealed recovery file/);
    expect(signedOutMessage('device_lost')).toMatch(/reported this device lost/);
    expect(signedOutMessage('store_locked')).toMatch(/cannot be opened/);
    expect(signedOutMessage(null)).toBeNull();
    expect(syncErrorMessage(new OutpostError('wiped', 'x'))).toBe(WIPED_MESSAGE);
  });

  it('sign-in', () => {
    expect(signInErrorMessage(new OutpostError('unauthorized', 'x'))).toBe(
      'Wrong user name or password',
    );
    expect(signInErrorMessage(new OutpostError('server_unreachable', 'x'))).toBe(
      'Cannot reach the server',
    );
    expect(signInErrorMessage({ code: 'server_unreachable', message: 'raw' })).toBe(
      'Cannot reach the server',
    );
    expect(signInErrorMessage(new OutpostError('invalid_input', 'Bad URL'))).toBe('Bad URL');
    expect(signInErrorMessage(new OutpostError('internal', 'kaput'))).toBe(
      'Sign-in failed: kaput',
    );
  });

  it('sync', () => {
    expect(syncErrorMessage(new OutpostError('server_unreachable', 'x'))).toBe(
      OFFLINE_SYNC_MESSAGE,
    );
    expect(OFFLINE_SYNC_MESSAGE).toBe(
      'Offline — your changes are kept and will sync when the server is back',
    );
    expect(syncErrorMessage(new OutpostError('server', 'HTTP 500'))).toBe(
      'Sync failed: HTTP 500',
    );
    expect(syncErrorMessage(new OutpostError('not_signed_in', 'x'))).toMatch(/Sign in again/);
    expect(syncErrorMessage(new OutpostError('metadata_pending', 'x'))).toMatch(/update of the app waits for your yes/);
  });
});
