//! Database keys and where they are kept.

use std::collections::HashMap;
use std::sync::Mutex;

use rand::RngCore as _;

use crate::StoreError;

/// A raw 256-bit SQLCipher key. Raw keys skip SQLCipher's passphrase KDF (≈0.1 s an open):
/// the key is already random, so stretching it buys nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseKey([u8; 32]);

impl std::fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseKey(..)")
    }
}

impl DatabaseKey {
    /// A fresh random key from the OS RNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The key's bytes (to encrypt something else than the database with it).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as hex, as kept in a keychain.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Reads a key kept as hex.
    pub fn from_hex(text: &str) -> Result<Self, StoreError> {
        let bytes = hex::decode(text.trim())
            .map_err(|_| StoreError::Keychain("the stored key is not hex".into()))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| StoreError::Keychain("the stored key is not 256 bits".into()))?;
        Ok(Self(bytes))
    }

    /// The `PRAGMA key` value for a raw key.
    pub(crate) fn pragma_value(&self) -> String {
        format!("x'{}'", self.to_hex())
    }
}

/// Where database keys are kept, by key id.
pub trait KeyStore: Send + Sync {
    /// The key, if one is kept under `id`.
    fn get(&self, id: &str) -> Result<Option<DatabaseKey>, StoreError>;
    /// Keeps `key` under `id`, replacing any other.
    fn set(&self, id: &str, key: &DatabaseKey) -> Result<(), StoreError>;
    /// Forgets the key under `id` (crypto-shred: the file is unreadable without it).
    fn delete(&self, id: &str) -> Result<(), StoreError>;
}

/// The OS keychain: Keychain on macOS, Credential Manager on Windows, the Secret Service
/// (GNOME Keyring, KWallet) on Linux.
#[derive(Debug, Clone)]
pub struct OsKeychain {
    service: String,
}

impl OsKeychain {
    /// Keys kept under the given keychain service name.
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
        }
    }

    fn entry(&self, id: &str) -> Result<keyring::Entry, StoreError> {
        keyring::Entry::new(&self.service, id).map_err(|e| StoreError::Keychain(e.to_string()))
    }
}

impl KeyStore for OsKeychain {
    fn get(&self, id: &str) -> Result<Option<DatabaseKey>, StoreError> {
        match self.entry(id)?.get_password() {
            Ok(hex) => DatabaseKey::from_hex(&hex).map(Some),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(StoreError::Keychain(e.to_string())),
        }
    }

    fn set(&self, id: &str, key: &DatabaseKey) -> Result<(), StoreError> {
        self.entry(id)?
            .set_password(&key.to_hex())
            .map_err(|e| StoreError::Keychain(e.to_string()))
    }

    fn delete(&self, id: &str) -> Result<(), StoreError> {
        match self.entry(id)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(StoreError::Keychain(e.to_string())),
        }
    }
}

/// Keys kept in process memory only. For tests of what lies *beside* the keychain
/// (encryption, layers, outbox); the keychain itself is tested against a real Secret
/// Service in the desktop-session tests.
#[derive(Debug, Default)]
pub struct MemoryKeyStore(Mutex<HashMap<String, String>>);

impl KeyStore for MemoryKeyStore {
    fn get(&self, id: &str) -> Result<Option<DatabaseKey>, StoreError> {
        let map = self
            .0
            .lock()
            .map_err(|_| StoreError::Keychain("poisoned".into()))?;
        map.get(id)
            .map(|hex| DatabaseKey::from_hex(hex))
            .transpose()
    }

    fn set(&self, id: &str, key: &DatabaseKey) -> Result<(), StoreError> {
        let mut map = self
            .0
            .lock()
            .map_err(|_| StoreError::Keychain("poisoned".into()))?;
        map.insert(id.to_owned(), key.to_hex());
        Ok(())
    }

    fn delete(&self, id: &str) -> Result<(), StoreError> {
        let mut map = self
            .0
            .lock()
            .map_err(|_| StoreError::Keychain("poisoned".into()))?;
        map.remove(id);
        Ok(())
    }
}
