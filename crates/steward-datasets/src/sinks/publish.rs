//! Atomic publishing: a dataset is assembled in a hidden staging folder beside its
//! destination, every file and the folder are fsynced, and one `rename` makes it visible.
//!
//! The order is: stage and fsync → commit the registry row → rename. A crash before the
//! commit leaves only a hidden staging folder and no row (nothing published); a crash
//! between the commit and the rename leaves a registered dataset whose complete staging
//! folder [`finish_interrupted`] renames into place the next time the registry is read.
//! Never a visible folder the registry and the ledger do not know.

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
        // Named after the destination alone, so a registered dataset's staging folder can be
        // found after a crash; destination names are unique per build.
        let dir = staging_dir(dest);
        if dir.exists() {
            // An unregistered leftover of a crashed build with the same name.
            std::fs::remove_dir_all(&dir).map_err(|e| DatasetError::io(&dir, e))?;
        }
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

    /// Fsyncs the staging folder, so that everything in it is durable before the registry
    /// row that points at it commits.
    pub fn seal(&self) -> Result<(), DatasetError> {
        sync_dir(&self.dir)
    }

    /// Fsyncs the folder, renames it to its destination and fsyncs the parent.
    pub fn publish(mut self) -> Result<PathBuf, DatasetError> {
        self.seal()?;
        if self.dest.exists() {
            return Err(DatasetError::DestinationExists(self.dest.clone()));
        }
        std::fs::rename(&self.dir, &self.dest).map_err(|e| DatasetError::io(&self.dest, e))?;
        self.published = true;
        sync_dir(self.dest.parent().unwrap_or(Path::new(".")))?;
        Ok(self.dest.clone())
    }

    /// After the registry row committed: the staging folder now belongs to a registered
    /// dataset and must survive even if the rename fails ([`finish_interrupted`] retries it).
    pub fn publish_registered(mut self) -> Result<PathBuf, DatasetError> {
        self.published = true;
        std::fs::rename(&self.dir, &self.dest).map_err(|e| DatasetError::io(&self.dest, e))?;
        sync_dir(self.dest.parent().unwrap_or(Path::new(".")))?;
        Ok(self.dest.clone())
    }
}

/// The hidden folder a dataset published at `dest` is staged in.
pub fn staging_dir(dest: &Path) -> PathBuf {
    let parent = dest.parent().unwrap_or(Path::new("."));
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parent.join(format!("{STAGING_PREFIX}{name}"))
}

/// Completes the publication of a registered dataset whose build stopped between the
/// registry commit and the rename. Returns whether it renamed anything.
pub fn finish_interrupted(dest: &Path) -> Result<bool, DatasetError> {
    let staged = staging_dir(dest);
    if dest.exists() || !staged.is_dir() {
        return Ok(false);
    }
    std::fs::rename(&staged, dest).map_err(|e| DatasetError::io(dest, e))?;
    sync_dir(dest.parent().unwrap_or(Path::new(".")))?;
    Ok(true)
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

    #[test]
    fn a_build_killed_after_its_registry_commit_is_finished_by_the_next_read() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("ds");
        let s = Staging::new(&dest).unwrap();
        s.write_file("a.txt", b"hello").unwrap();
        s.seal().unwrap();
        // The process dies here: no destructor runs, the registry row is committed.
        std::mem::forget(s);
        assert!(!dest.exists());
        assert!(finish_interrupted(&dest).unwrap());
        assert_eq!(std::fs::read(dest.join("a.txt")).unwrap(), b"hello");
        assert!(!staging_dir(&dest).exists());
        assert!(!finish_interrupted(&dest).unwrap());
    }
}
