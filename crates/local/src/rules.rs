//! Scanning rules from a folder, for the local stack: every `*.yar` and `*.yara` file
//! directly in it. The version is a digest of names and contents, so any edit is a
//! new version, seen by the next ingest without a restart. Precompiled rulesets are
//! kept in its `.compiled/` folder, which is not a rule file.

use std::path::PathBuf;

use airlock_domain::ports::{COMPILED_RULES_DIR, RuleFile, RuleSource, StoreError, rules_version};
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

    /// The folder rules are read from; it may not exist.
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
            let is_file = entry.file_type().await.is_ok_and(|t| t.is_file());
            if !is_file
                || name.starts_with('.')
                || !(name.ends_with(".yar") || name.ends_with(".yara"))
            {
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

    async fn load_compiled(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match tokio::fs::read(self.dir.join(COMPILED_RULES_DIR).join(name)).await {
            Ok(blob) => Ok(Some(blob)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Backend(Box::new(e))),
        }
    }

    async fn save_compiled(&self, name: &str, blob: Vec<u8>) -> Result<(), StoreError> {
        let backend = |e| StoreError::Backend(Box::new(e));
        // No rules folder, no rules of the deployment's own: nothing to keep a blob
        // beside, and a folder created here would surprise whoever creates it later.
        if !tokio::fs::try_exists(&self.dir).await.unwrap_or(false) {
            return Ok(());
        }
        let folder = self.dir.join(COMPILED_RULES_DIR);
        tokio::fs::create_dir_all(&folder).await.map_err(backend)?;
        // Written beside, then renamed: a cold start never reads half a blob.
        let partial = folder.join(format!(".{name}.{}.partial", std::process::id()));
        tokio::fs::write(&partial, blob).await.map_err(backend)?;
        tokio::fs::rename(&partial, folder.join(name))
            .await
            .map_err(backend)
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

    #[tokio::test]
    async fn precompiled_blobs_are_kept_beside_the_rules_and_are_not_rules() {
        let dir = tempfile::tempdir().unwrap();
        let source = DirRuleSource::new(dir.path());
        std::fs::write(dir.path().join("a.yar"), "rule a { condition: true }").unwrap();
        let before = source.version().await.unwrap();
        assert_eq!(source.load_compiled("v1.yarc").await.unwrap(), None);

        source
            .save_compiled("v1.yarc", b"blob".to_vec())
            .await
            .unwrap();
        std::fs::write(
            dir.path().join(COMPILED_RULES_DIR).join("x.yar"),
            "rule x {",
        )
        .unwrap();

        assert_eq!(
            source.load_compiled("v1.yarc").await.unwrap(),
            Some(b"blob".to_vec())
        );
        assert_eq!(source.version().await.unwrap(), before);
        assert_eq!(source.load().await.unwrap().1.len(), 1);
    }
}
