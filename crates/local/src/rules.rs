//! Scanning rules from a folder, for the local stack: every `*.yar` and `*.yara` file
//! directly in it. The version is a digest of names and contents, so any edit is a
//! new version, seen by the next ingest without a restart.

use std::path::PathBuf;

use airlock_domain::ports::{RuleFile, RuleSource, StoreError, rules_version};
use sha2::{Digest, Sha256};

/// See the module docs.
#[derive(Debug, Clone)]
pub struct DirRuleSource {
    dir: PathBuf,
}

impl DirRuleSource {
    /// Rules from `dir`; a missing folder means no rules of the deployment's own.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    async fn read_all(&self) -> Result<Vec<RuleFile>, StoreError> {
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::Backend(Box::new(e))),
        };
        let mut files = Vec::new();
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))?
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name.ends_with(".yar") || name.ends_with(".yara")) {
                continue;
            }
            let source = tokio::fs::read_to_string(entry.path())
                .await
                .map_err(|e| StoreError::Backend(Box::new(e)))?;
            files.push(RuleFile { name, source });
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
    }
}

fn version_of(files: &[RuleFile]) -> String {
    let digests: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                hex::encode(Sha256::digest(f.source.as_bytes())),
            )
        })
        .collect();
    rules_version(digests.iter().map(|(n, d)| (n.as_str(), d.as_str())))
}

impl RuleSource for DirRuleSource {
    async fn version(&self) -> Result<String, StoreError> {
        Ok(version_of(&self.read_all().await?))
    }

    async fn load(&self) -> Result<(String, Vec<RuleFile>), StoreError> {
        let files = self.read_all().await?;
        Ok((version_of(&files), files))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn any_edit_to_a_rule_file_is_a_new_version_and_other_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let source = DirRuleSource::new(dir.path().join("rules"));
        assert_eq!(source.version().await.unwrap(), "none");
        std::fs::create_dir(source.dir()).unwrap();
        std::fs::write(source.dir().join("a.yar"), "rule a { condition: true }").unwrap();
        std::fs::write(source.dir().join("notes.md"), "not a rule").unwrap();
        let first = source.version().await.unwrap();
        let (loaded, files) = source.load().await.unwrap();
        assert_eq!((loaded.as_str(), files.len()), (first.as_str(), 1));
        std::fs::write(source.dir().join("a.yar"), "rule a { condition: false }").unwrap();
        assert_ne!(source.version().await.unwrap(), first);
    }
}
