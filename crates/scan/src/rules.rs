//! The ruleset: Airlock's default rules plus a deployment's own, compiled together.
//!
//! Each source gets its own namespace (`airlock` for the defaults, the file's stem for
//! the others), so two files may both name a rule `suspicious` and a match names its
//! origin: `invoices.suspicious`.

use std::sync::Arc;

use airlock_domain::ports::RuleFile;
use sha2::{Digest, Sha256};

/// The default ruleset's source, compiled into every function that scans.
pub const BUILTIN_RULES: &str = include_str!("../rules/airlock.yar");

/// The namespace of the default rules.
pub const BUILTIN_NAMESPACE: &str = "airlock";

/// The external variables every rule may read, all strings, set for the upload and
/// again for each member of a container (see README's Scanning section):
/// `declared_type` (the upload's declared content type, for members too),
/// `file_name` and `filename` (the item's own name), `filepath` (its path through
/// the containers: `a.zip!/b/c.txt`; the upload's name for the upload), `extension`
/// (of its name, lower case, with the dot: `.txt`), `filetype` (the type its magic
/// bytes say) and `owner` (the tenant). The last five are LOKI's and THOR's names.
pub const EXTERNALS: [&str; 7] = [
    "declared_type",
    "file_name",
    "filename",
    "filepath",
    "extension",
    "filetype",
    "owner",
];

/// Why a ruleset could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// A rule file did not compile; the message is the compiler's own.
    #[error("rule file {file} does not compile:\n{message}")]
    Compile {
        /// The file's name in its source.
        file: String,
        /// What the compiler said, with line and column.
        message: String,
    },
    /// Two files map to the same namespace, or a name cannot be a namespace.
    #[error("rule file {file} cannot be used: {why}")]
    BadName {
        /// The file's name in its source.
        file: String,
        /// Why.
        why: &'static str,
    },
    /// The task compiling a cold start's rules was lost (it panicked).
    #[error("rule compilation task failed")]
    Task(#[source] tokio::task::JoinError),
    /// A cold start's compilation in the background failed before, with the error
    /// its first waiter got and the log shows; only broken default rules cause it.
    #[error("the rules of this cold start failed to compile; see the earlier error")]
    FirstCompilationFailed,
}

/// A compiled, versioned ruleset, shared by every scan.
pub struct CompiledRules {
    version: String,
    rules: yara_x::Rules,
}

impl std::fmt::Debug for CompiledRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledRules")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl CompiledRules {
    /// The version recorded on every file this set scans: the default rules' digest
    /// and the deployment's rules' version, so either change is a new version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The compiled rules, for the scanner.
    pub fn rules(&self) -> &yara_x::Rules {
        &self.rules
    }
}

/// The version of the default rules alone: the first 12 hex digits of their SHA-256.
pub fn builtin_version() -> String {
    short_digest(BUILTIN_RULES.as_bytes())
}

/// A short, stable digest used in ruleset versions.
pub fn short_digest(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..6])
}

/// Compiles the default rules with a deployment's own (`custom`, at `custom_version`).
pub fn compile(
    custom: &[RuleFile],
    custom_version: &str,
) -> Result<Arc<CompiledRules>, RulesError> {
    let mut compiler = yara_x::Compiler::new();
    for name in EXTERNALS {
        // Defining a string global cannot fail for these fixed, valid names.
        let _ = compiler.define_global(name, "");
    }
    compiler.new_namespace(BUILTIN_NAMESPACE);
    add(&mut compiler, "airlock.yar", BUILTIN_RULES)?;
    let mut seen = vec![BUILTIN_NAMESPACE.to_owned()];
    for file in custom {
        let namespace = namespace_of(&file.name)?;
        if seen.contains(&namespace) {
            return Err(RulesError::BadName {
                file: file.name.clone(),
                why: "another rule file has the same name",
            });
        }
        compiler.new_namespace(&namespace);
        add(&mut compiler, &file.name, &file.source)?;
        seen.push(namespace);
    }
    Ok(Arc::new(CompiledRules {
        version: format!("{}+{}", builtin_version(), custom_version),
        rules: compiler.build(),
    }))
}

fn add(compiler: &mut yara_x::Compiler<'_>, name: &str, source: &str) -> Result<(), RulesError> {
    let code = yara_x::SourceCode::from(source).with_origin(name);
    compiler
        .add_source(code)
        .map(|_| ())
        .map_err(|e| RulesError::Compile {
            file: name.to_owned(),
            message: e.to_string(),
        })
}

/// `rules/finance/invoices.yar` → `invoices`: the file stem, which must be a valid
/// identifier so matches read as `namespace.rule`.
fn namespace_of(name: &str) -> Result<String, RulesError> {
    let base = name.rsplit('/').next().unwrap_or(name);
    let stem = base.split('.').next().unwrap_or(base);
    let valid = !stem.is_empty()
        && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !stem.starts_with(|c: char| c.is_ascii_digit());
    if !valid {
        return Err(RulesError::BadName {
            file: name.to_owned(),
            why: "its name (before the first dot) must be letters, digits and _",
        });
    }
    Ok(stem.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, source: &str) -> RuleFile {
        RuleFile {
            name: name.into(),
            source: source.into(),
        }
    }

    #[test]
    fn the_default_rules_compile_alone() {
        let rules = compile(&[], "none").unwrap();
        assert_eq!(rules.version(), format!("{}+none", builtin_version()));
    }

    #[test]
    fn a_rule_that_does_not_compile_is_reported_with_the_compilers_message() {
        let error = compile(
            &[file("rules/bad.yar", "rule broken { condition: nope }")],
            "v1",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("rules/bad.yar"), "{error}");
        assert!(error.contains("nope"), "{error}");
    }

    #[test]
    fn rule_files_need_distinct_identifier_names() {
        let rule = "rule a { condition: true }";
        assert!(compile(&[file("x/one.yar", rule), file("y/one.yara", rule)], "v").is_err());
        assert!(compile(&[file("9lives.yar", rule)], "v").is_err());
        assert!(compile(&[file("airlock.yar", rule)], "v").is_err());
        assert!(compile(&[file("one.yar", rule), file("two.yar", rule)], "v").is_ok());
    }
}
