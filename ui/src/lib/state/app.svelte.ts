import { api as realApi, type OutpostApi } from '../api';
import { AccountsStore } from './accounts.svelte';
import { SessionStore } from './session.svelte';

export interface OutpostApp {
  session: SessionStore;
  accounts: AccountsStore;
}

/** Create the app's stores and wire them together. */
export function createApp(api: OutpostApi = realApi): OutpostApp {
  const session: SessionStore = new SessionStore(api, {
    // After "Sync now" (success or failure) reload the list: pending flags
    // and pulled changes may differ.
    afterSync: async () => {
      if (session.signedIn) await accounts.load();
    },
    // The background sync replayed or pulled something: show it.
    onSyncedElsewhere: async () => {
      if (session.signedIn) await accounts.load();
    },
  });
  // After a save, refresh the status so the pending-changes count is current.
  const accounts: AccountsStore = new AccountsStore(api, { onChanged: () => session.refresh() });
  return { session, accounts };
}
