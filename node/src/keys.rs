//! A validator's ed25519 key file.
//!
//! `keys/validator_key.json` holds the secret key in hex, readable only by its owner. The
//! validator's address is the first 20 bytes of sha256(public key).

use std::path::Path;

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Why a key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a key file.
    #[error("key file {path} is malformed: {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    public_key: String,
    address: String,
    secret_key: String,
}

/// Address of a validator: the first 20 bytes of sha256(public key).
pub fn address_of(key: &VerifyingKey) -> [u8; 20] {
    let digest = Sha256::digest(key.as_bytes());
    let mut out = [0u8; 20];
    out.copy_from_slice(&digest[..20]);
    out
}

/// Write `key` to `path` (mode 0600 on Unix). Refuses to overwrite an existing file.
pub fn write_key(path: &Path, key: &SigningKey) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = KeyFile {
        public_key: hex::encode(key.verifying_key().as_bytes()),
        address: hex::encode(address_of(&key.verifying_key())),
        secret_key: hex::encode(key.to_bytes()),
    };
    let json = serde_json::to_string_pretty(&file).map_err(|e| KeyError::Malformed {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).map_err(io)?;
    std::io::Write::write_all(&mut f, json.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)
}

/// Read a key file written by [`write_key`], checking that its public key matches the secret.
pub fn read_key(path: &Path) -> Result<SigningKey, KeyError> {
    let p = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| KeyError::Io {
        path: p.clone(),
        source,
    })?;
    let malformed = |reason: String| KeyError::Malformed {
        path: p.clone(),
        reason,
    };
    let file: KeyFile = serde_json::from_slice(&bytes).map_err(|e| malformed(e.to_string()))?;
    let secret: [u8; 32] = hex::decode(&file.secret_key)
        .map_err(|e| malformed(format!("secret_key: {e}")))?
        .try_into()
        .map_err(|_| malformed("secret_key must be 32 bytes".into()))?;
    let key = SigningKey::from_bytes(&secret);
    if hex::encode(key.verifying_key().as_bytes()) != file.public_key.trim_start_matches("0x") {
        return Err(malformed("public_key does not match secret_key".into()));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_and_no_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let key = SigningKey::from_bytes(&[3; 32]);
        write_key(&path, &key).unwrap();
        assert_eq!(read_key(&path).unwrap().to_bytes(), key.to_bytes());
        assert!(matches!(write_key(&path, &key), Err(KeyError::Io { .. })));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn tampered_public_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        write_key(&path, &SigningKey::from_bytes(&[3; 32])).unwrap();
        let other = hex::encode(SigningKey::from_bytes(&[4; 32]).verifying_key().as_bytes());
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let tampered = text.replace(v["public_key"].as_str().unwrap(), &other);
        std::fs::write(&path, tampered).unwrap();
        assert!(matches!(read_key(&path), Err(KeyError::Malformed { .. })));
    }
}
