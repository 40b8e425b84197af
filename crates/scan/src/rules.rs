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
        /// What is wrong with the name, shown to whoever wrote the rule file.
        why: &'static str,
    },
    /// The task compiling a cold start's rules was lost (it panicked).
    #[error("rule compilation task failed")]
    Task(#[source] tokio::task::JoinError),
    /// A cold start's compilation in the background failed before, with the error
    /// its first waiter got and the log shows; only broken default rules cause it.
    #[error("the rules of this cold start failed to compile; see the earlier error")]
    FirstCompilationFailed,
    /// The deployment's rules could not be listed or read (a throttle, a store
    /// error): a cold start does not scan with the default rules alone, it fails so
    /// the event is retried, and the next invocation tries again.
    #[error("the deployment's rules could not be read")]
    Source(#[source] airlock_domain::ports::StoreError),
}

/// A rule file left out of a ruleset because it did not compile (or its name cannot
/// be a namespace); the others are in force without it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeftOut {
    /// The file's name in its source.
    pub file: String,
    /// The compiler's message (or why the name is unusable).
    pub why: String,
}

/// How a ruleset in memory came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Compiled from source in this process.
    Compiled,
    /// Read back from a precompiled blob (see [`crate::precompiled`]).
    Precompiled,
}

/// A compiled, versioned ruleset, shared by every scan.
pub struct CompiledRules {
    version: String,
    rules: yara_x::Rules,
    in_force: Vec<String>,
    left_out: Vec<LeftOut>,
    origin: Origin,
}

impl std::fmt::Debug for CompiledRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledRules")
            .field("version", &self.version)
            .field("in_force", &self.in_force)
            .field("left_out", &self.left_out)
            .field("origin", &self.origin)
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

    /// The rule files in force, the default rules (`airlock.yar`) first.
    pub fn in_force(&self) -> &[String] {
        &self.in_force
    }

    /// The deployment's rule files left out because they did not compile.
    pub fn left_out(&self) -> &[LeftOut] {
        &self.left_out
    }

    /// Whether this set was compiled here or read back precompiled.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    pub(crate) fn from_parts(
        version: String,
        rules: yara_x::Rules,
        in_force: Vec<String>,
        left_out: Vec<LeftOut>,
        origin: Origin,
    ) -> Self {
        Self {
            version,
            rules,
            in_force,
            left_out,
            origin,
        }
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

/// The file name the default rules go by in [`CompiledRules::in_force`].
pub const BUILTIN_FILE: &str = "airlock.yar";

/// Compiles the default rules with a deployment's own (`custom`, at `custom_version`).
///
/// A deployment file that does not compile, or whose name cannot be a namespace, is
/// left out (named, with the compiler's message, in [`CompiledRules::left_out`]) and
/// the others are in force: one bad upload of rules never takes the rest down. Only
/// broken default rules are an error.
pub fn compile(
    custom: &[RuleFile],
    custom_version: &str,
) -> Result<Arc<CompiledRules>, RulesError> {
    let (usable, mut left_out) = with_usable_names(custom);
    // A file that fails may leave its good rules in the compiler, so the set is built
    // again without the failed files: a file is in force whole or not at all. The
    // second build cannot fail on a file the first one accepted, but the loop keeps
    // going until none fails rather than trust that.
    let mut candidates = usable;
    loop {
        let (rules, failed) = build(&candidates)?;
        if failed.is_empty() {
            let mut in_force = vec![BUILTIN_FILE.to_owned()];
            in_force.extend(candidates.iter().map(|(file, _)| file.name.clone()));
            return Ok(Arc::new(CompiledRules::from_parts(
                format!("{}+{}", builtin_version(), custom_version),
                rules,
                in_force,
                left_out,
                Origin::Compiled,
            )));
        }
        candidates.retain(|(file, _)| !failed.iter().any(|f| f.file == file.name));
        left_out.extend(failed);
    }
}

/// Splits the files into those with a usable, distinct namespace and those without.
fn with_usable_names(custom: &[RuleFile]) -> (Vec<(&RuleFile, String)>, Vec<LeftOut>) {
    let mut seen = vec![BUILTIN_NAMESPACE.to_owned()];
    let (mut usable, mut left_out) = (Vec::new(), Vec::new());
    for file in custom {
        let named = namespace_of(&file.name).and_then(|namespace| {
            if seen.contains(&namespace) {
                Err(RulesError::BadName {
                    file: file.name.clone(),
                    why: "another rule file has the same name",
                })
            } else {
                Ok(namespace)
            }
        });
        match named {
            Ok(namespace) => {
                seen.push(namespace.clone());
                usable.push((file, namespace));
            }
            Err(error) => left_out.push(LeftOut {
                file: file.name.clone(),
                why: error.to_string(),
            }),
        }
    }
    (usable, left_out)
}

/// One build of the defaults and `files`: the rules, and the files that failed.
fn build(files: &[(&RuleFile, String)]) -> Result<(yara_x::Rules, Vec<LeftOut>), RulesError> {
    let mut compiler = yara_x::Compiler::new();
    for name in EXTERNALS {
        // Defining a string global cannot fail for these fixed, valid names.
        let _ = compiler.define_global(name, "");
    }
    compiler.new_namespace(BUILTIN_NAMESPACE);
    add(&mut compiler, BUILTIN_FILE, BUILTIN_RULES)?;
    let mut failed = Vec::new();
    for (file, namespace) in files {
        compiler.new_namespace(namespace);
        if let Err(error) = add(&mut compiler, &file.name, &file.source) {
            failed.push(LeftOut {
                file: file.name.clone(),
                why: error.to_string(),
            });
        }
    }
    Ok((compiler.build(), failed))
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
    fn a_rule_file_that_does_not_compile_is_left_out_with_the_compilers_message() {
        let rules = compile(
            &[
                file(
                    "rules/bad.yar",
                    "rule good_half { condition: true } rule broken { condition: nope }",
                ),
                file("rules/good.yar", "rule fine { condition: true }"),
            ],
            "v1",
        )
        .unwrap();
        assert_eq!(rules.in_force(), ["airlock.yar", "rules/good.yar"]);
        let [left_out] = rules.left_out() else {
            panic!("{rules:?}")
        };
        assert_eq!(left_out.file, "rules/bad.yar");
        assert!(left_out.why.contains("nope"), "{left_out:?}");
        let mut scanner = yara_x::Scanner::new(rules.rules());
        let found: Vec<String> = scanner
            .scan(b"anything")
            .unwrap()
            .matching_rules()
            .map(|r| format!("{}.{}", r.namespace(), r.identifier()))
            .collect();
        assert_eq!(
            found,
            ["good.fine"],
            "the broken file's good rule must be out too"
        );
    }

    #[test]
    fn rule_files_need_distinct_identifier_names() {
        let rule = "rule a { condition: true }";
        let left_out = |files: &[RuleFile]| -> Vec<String> {
            let rules = compile(files, "v").unwrap();
            rules.left_out().iter().map(|l| l.file.clone()).collect()
        };
        assert_eq!(
            left_out(&[file("x/one.yar", rule), file("y/one.yara", rule)]),
            ["y/one.yara"]
        );
        assert_eq!(left_out(&[file("9lives.yar", rule)]), ["9lives.yar"]);
        assert_eq!(left_out(&[file("airlock.yar", rule)]), ["airlock.yar"]);
        assert!(left_out(&[file("one.yar", rule), file("two.yar", rule)]).is_empty());
    }
}
