/**
 * User-facing text for API failures. Branches on `OutpostError.code` only;
 * the backend's message is shown verbatim only as extra detail.
 */
import { toOutpostError, type SignedOutReason } from '../api';

export const OFFLINE_SYNC_MESSAGE =
  'Offline — your changes are kept and will sync when the server is back';

export const WIPED_MESSAGE =
  'The server asked this device to delete its offline data, and it did. Sign in again to continue.';

export const KEPT_MESSAGE =
  'What had not reached the server is kept in a sealed recovery file: sign in again to restore it.';

/** Why the last session ended by itself, for the sign-in screen; null when it did not. */
export function signedOutMessage(reason: SignedOutReason | null | undefined): string | null {
  switch (reason) {
    case 'session_ended':
      return 'Your session has ended. Sign in again — your offline changes are kept.';
    case 'wiped':
      return WIPED_MESSAGE;
    case 'wiped_sealed':
      return `${WIPED_MESSAGE} ${KEPT_MESSAGE}`;
    case 'device_lost':
      return 'An administrator reported this device lost: your data on it is deleted. Sign in again to continue.';
    case 'store_locked':
      return 'The data kept on this device for the last user cannot be opened: its key is no longer in the keychain. It stays on the device; sign in to continue.';
    default:
      return null;
  }
}

export function signInErrorMessage(error: unknown): string {
  const e = toOutpostError(error);
  switch (e.code) {
    case 'unauthorized':
      return 'Wrong user name or password';
    case 'server_unreachable':
      return 'Cannot reach the server';
    case 'invalid_input':
      return e.message;
    case 'keychain':
      return `Could not store your credentials securely: ${e.message}`;
    default:
      return `Sign-in failed: ${e.message}`;
  }
}

export function syncErrorMessage(error: unknown): string {
  const e = toOutpostError(error);
  switch (e.code) {
    case 'server_unreachable':
      return OFFLINE_SYNC_MESSAGE;
    case 'not_signed_in':
      return 'You are signed out. Sign in again to sync.';
    case 'unauthorized':
      return 'The server no longer accepts your sign-in. Sign in again to sync.';
    case 'wiped':
      return WIPED_MESSAGE;
    case 'metadata_pending':
      return 'An update of the app waits for your yes before sync goes on';
    default:
      return `Sync failed: ${e.message}`;
  }
}
