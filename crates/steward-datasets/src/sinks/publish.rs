//! Atomic publishing: a dataset is assembled in a hidden staging folder beside its
//! destination, every file and the folder are fsynced, and one `rename` makes it visible.
//! A crash at any point before the rename leaves only the hidden staging folder (which
//! listings ignore and the next build's dropped guard or an operator removes); never a
//! half-written dataset under its real name.

use std::fs::File;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::DatasetError;

/// The prefix of staging folders, so listings can skip them.
pub const STAGING_PREFIX: &str = ".staging-";

/// A dataset being assembled. Dropped without [`Staging::publish`], it removes itself.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    dest: PathBuf,
    published: bool,
}

fn sync_dir(path: &Path) -> Result<(), DatasetError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| DatasetError::io(path, e))
}

impl Staging {
    /// Opens a staging folder for `dest`, which must not exist yet.
    pub fn new(dest: &Path) -> Result<Staging, DatasetError> {
        if dest.exists() {
            return Err(DatasetError::DestinationExists(dest.to_owned()));
        }
        let parent = dest.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| DatasetError::io(parent, e))?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = parent.join(format!(
            "{STAGING_PREFIX}{name}-{}",
            hex::encode(rand::random::<[u8; 6]>())
        ));
        std::fs::create_dir(&dir).map_err(|e| DatasetError::io(&dir, e))?;
        Ok(Staging {
            dir,
            dest: dest.to_owned(),
            published: false,
        })
    }

    /// Where files are written before publishing.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Writes `bytes` to `name` in the staging folder and fsyncs it.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> Result<(), DatasetError> {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| DatasetError::io(&path, e))?;
        File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(|e| DatasetError::io(&path, e))
    }

    /// SHA-256 of every file in the staging folder, by name.
    pub fn digests(&self) -> Result<Vec<(String, String)>, DatasetError> {
        let mut out = Vec::new();
        let entries = std::fs::read_dir(&self.dir).map_err(|e| DatasetError::io(&self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| DatasetError::io(&self.dir, e))?;
            let path = entry.path();
            let bytes = std::fs::read(&path).map_err(|e| DatasetError::io(&path, e))?;
            out.push((
                entry.file_name().to_string_lossy().into_owned(),
                hex::encode(Sha256::digest(&bytes)),
            ));
        }
        out.sort();
        Ok(out)
    }

    /// Fsyncs the folder, renames it to its destination and fsyncs the parent.
    pub fn publish(mut self) -> Result<PathBuf, DatasetError> {
        sync_dir(&self.dir)?;
        if self.dest.exists() {
            return Err(DatasetError::DestinationExists(self.dest.clone()));
        }
        std::fs::rename(&self.dir, &self.dest).map_err(|e| DatasetError::io(&self.dest, e))?;
        self.published = true;
        sync_dir(self.dest.parent().unwrap_or(Path::new(".")))?;
        Ok(self.dest.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            // Best effort: a leftover hidden folder is harmless, a visible one is not possible.
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_visible_until_publish_and_an_abandoned_staging_vanishes() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("ds");
        {
            let s = Staging::new(&dest).unwrap();
            s.write_file("a.txt", b"hello").unwrap();
            assert!(!dest.exists());
        }
        assert!(!dest.exists());
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
        let s = Staging::new(&dest).unwrap();
        s.write_file("a.txt", b"hello").unwrap();
        assert_eq!(s.digests().unwrap().len(), 1);
        s.publish().unwrap();
        assert_eq!(std::fs::read(dest.join("a.txt")).unwrap(), b"hello");
        assert_eq!(
            Staging::new(&dest).unwrap_err().code(),
            "datasets.destination_exists"
        );
    }
}
