//! The member walker: scans the upload, then every member of every container in it,
//! depth first, naming each by its path through the containers
//! (`invoices.zip!/2026/q1.xlsm!/xl/vbaProject.bin`) and keeping within the budgets.

use std::{io::Read, ops::ControlFlow};

use airlock_domain::{ArchiveLimits, SNIFF_LEN, SkipReason, sniff};

use super::{
    Container,
    held::{self, Allowance, Cut},
};
use crate::ScanError;

/// One rule that matched, where, and whether it is a policy rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// `namespace.rule`.
    pub rule: String,
    /// The member's path; `None` for the upload itself.
    pub path: Option<String>,
    /// A policy rule (`airlock_verdict = "reject"`), not malware.
    pub policy: bool,
}

/// A member a format hands the walker.
pub struct Member<'a> {
    /// Its name inside its container (`xl/vbaProject.bin`, `obj/12`).
    pub name: &'a str,
    /// Its compressed size, when it is compressed (for the ratio budget).
    pub compressed: Option<u64>,
    /// The type rules see as `filetype`, when its bytes do not say it (a PDF's
    /// decoded stream is PDF syntax without a header).
    pub filetype: Option<&'static str>,
}

/// The walk's state: the scanner, the budgets, and everything found so far.
pub struct Walker<'s, 'r> {
    scanner: &'s mut yara_x::Scanner<'r>,
    limits: ArchiveLimits,
    member_limit: u64,
    timeout: std::time::Duration,
    /// One scan timeout for the whole walk: each member gets what is left of it, so a
    /// container of many slow members costs one timeout, not one per member.
    deadline: std::time::Instant,
    /// Every rule match, upload first.
    pub hits: Vec<Hit>,
    /// Members scanned.
    pub scanned: u64,
    /// What was not (fully) scanned, and why.
    pub unscanned: Vec<SkipReason>,
    /// Whether any container was found (the upload is one).
    pub opened: bool,
    expanded: u64,
    exhausted: bool,
}

impl<'s, 'r> Walker<'s, 'r> {
    /// A walker over `scanner`, whose constant externals (`declared_type`, `owner`)
    /// are already set. `member_limit` caps any one member (the scan limit);
    /// `timeout` is the whole walk's, from now.
    pub fn new(
        scanner: &'s mut yara_x::Scanner<'r>,
        limits: ArchiveLimits,
        member_limit: u64,
        timeout: std::time::Duration,
    ) -> Self {
        Self {
            scanner,
            limits,
            member_limit,
            timeout,
            deadline: std::time::Instant::now() + timeout,
            hits: Vec::new(),
            scanned: 0,
            unscanned: Vec::new(),
            opened: false,
            expanded: 0,
            exhausted: false,
        }
    }

    /// Scans one item's bytes with its externals set, recording what matched.
    /// `Ok(false)` when the scan timed out.
    pub fn scan_item(
        &mut self,
        bytes: &[u8],
        path: &str,
        at: Option<&str>,
        filetype: Option<&str>,
    ) -> Result<bool, ScanError> {
        self.set_externals(bytes, path, filetype);
        // YARA-X counts its timeout in whole seconds, rounding up.
        let left = self
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        self.scanner
            .set_timeout(left.max(std::time::Duration::from_millis(1)));
        match self.scanner.scan(bytes) {
            Ok(results) => {
                for rule in results.matching_rules() {
                    self.hits.push(Hit {
                        rule: format!("{}.{}", rule.namespace(), rule.identifier()),
                        path: at.map(str::to_owned),
                        policy: crate::scanner::only_rejects(&rule),
                    });
                }
                Ok(true)
            }
            Err(yara_x::ScanError::Timeout) => Ok(false),
            Err(e) => Err(ScanError::Engine(e)),
        }
    }

    fn set_externals(&mut self, bytes: &[u8], path: &str, filetype: Option<&str>) {
        let name = path.rsplit(['/', '!']).next().unwrap_or(path);
        let extension = name
            .rfind('.')
            .map(|dot| name[dot..].to_ascii_lowercase())
            .unwrap_or_default();
        let detected = filetype.map_or_else(
            || sniff(&bytes[..bytes.len().min(SNIFF_LEN)]).to_string(),
            str::to_owned,
        );
        // The externals were defined by `compile` as strings; setting strings cannot fail.
        for (external, value) in [
            ("file_name", name),
            ("filename", name),
            ("filepath", path),
            ("extension", extension.as_str()),
            ("filetype", detected.as_str()),
        ] {
            let _ = self.scanner.set_global(external, value);
        }
    }

    /// Opens `bytes` when they are a container at `depth` (the upload is 0) and walks
    /// its members.
    pub fn open(
        &mut self,
        bytes: &[u8],
        path: &str,
        depth: u32,
        memory: usize,
    ) -> Result<(), ScanError> {
        let Some(container) = super::container_of(bytes) else {
            return Ok(());
        };
        self.opened = true;
        if depth >= self.limits.max_depth {
            self.unscanned.push(SkipReason::ArchiveTooDeep {
                path: path.to_owned(),
                limit: self.limits.max_depth,
            });
            return Ok(());
        }
        let level = Level {
            path,
            depth: depth + 1,
            memory,
        };
        match container {
            Container::Zip => super::zip::walk(self, bytes, &level),
            Container::Gzip | Container::Bzip2 | Container::Xz | Container::Zstd => {
                super::streams::walk(self, container, bytes, &level)
            }
            Container::Tar => super::tar::walk(self, bytes, &level),
            Container::Pdf => super::pdf::walk(self, bytes, &level),
            Container::Ole => super::ole::walk(self, bytes, &level),
        }
    }

    /// Records that something at `level` could not be read, and why.
    pub fn not_scanned(&mut self, why: SkipReason) {
        self.unscanned.push(why);
    }

    /// Expands, scans and (when it is a container) opens one member. `Break` once a
    /// budget over the whole walk has run out: the format stops handing members.
    pub fn member(
        &mut self,
        level: &Level<'_>,
        member: Member<'_>,
        reader: impl Read,
    ) -> Result<ControlFlow<()>, ScanError> {
        if self.exhausted {
            return Ok(ControlFlow::Break(()));
        }
        if std::time::Instant::now() >= self.deadline {
            self.unscanned.push(SkipReason::ScanTimedOut {
                after_secs: self.timeout.as_secs(),
            });
            self.exhausted = true;
            return Ok(ControlFlow::Break(()));
        }
        let path = level.path_of(member.name);
        if self.scanned >= self.limits.max_members {
            self.unscanned.push(SkipReason::ArchiveTooManyMembers {
                path,
                limit: self.limits.max_members,
            });
            self.exhausted = true;
            return Ok(ControlFlow::Break(()));
        }
        self.scanned += 1;
        let left = self.limits.max_expanded_bytes.saturating_sub(self.expanded);
        let allowance = Allowance {
            memory: level.memory,
            max_bytes: left.min(self.member_limit),
            compressed: member.compressed,
            max_ratio: self.limits.max_ratio,
            ratio_floor: self.limits.ratio_floor,
        };
        let (held, cut) = held::collect(reader, allowance).map_err(ScanError::Spool)?;
        self.expanded += held.len();
        let complete = cut.is_none();
        if let Some(cut) = cut {
            let why = self.cut_reason(cut, &path, left);
            self.unscanned.push(why);
        }
        let below = level.memory.saturating_sub(held.in_memory());
        held.with_bytes(|bytes| {
            if !self.scan_item(bytes, &path, Some(&path), member.filetype)? {
                self.unscanned.push(SkipReason::ScanTimedOut {
                    after_secs: self.timeout.as_secs(),
                });
                // It had all the walk's time that was left: none is left for more.
                self.exhausted = true;
                return Ok::<_, ScanError>(());
            }
            if complete {
                self.open(bytes, &path, level.depth, below)?;
            }
            Ok::<_, ScanError>(())
        })
        .map_err(ScanError::Spool)??;
        Ok(if self.exhausted {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        })
    }

    fn cut_reason(&mut self, cut: Cut, path: &str, left: u64) -> SkipReason {
        let path = path.to_owned();
        match cut {
            Cut::Ratio => SkipReason::ArchiveRatioLimit {
                path,
                limit: self.limits.max_ratio,
            },
            Cut::Expansion if left <= self.member_limit => {
                self.exhausted = true;
                SkipReason::ArchiveExpansionLimit {
                    path,
                    limit: self.limits.max_expanded_bytes,
                }
            }
            Cut::Expansion => SkipReason::ArchiveExpansionLimit {
                path,
                limit: self.member_limit,
            },
            Cut::Damaged(error) => SkipReason::ArchiveCorrupt {
                path,
                detail: error.to_string(),
            },
        }
    }
}

/// The container being walked: its path, the depth of its members, and the memory
/// they may hold.
pub struct Level<'a> {
    /// The container's path.
    pub path: &'a str,
    /// The depth of its members.
    pub depth: u32,
    /// Memory its members may each hold (the budget less what the levels above hold).
    pub memory: usize,
}

impl Level<'_> {
    /// A member's path: the container's, `!/`, the member's name.
    pub fn path_of(&self, name: &str) -> String {
        format!("{}!/{}", self.path, name.trim_start_matches('/'))
    }

    /// Records that the container itself is damaged.
    pub fn corrupt(&self, detail: impl std::fmt::Display) -> SkipReason {
        SkipReason::ArchiveCorrupt {
            path: self.path.to_owned(),
            detail: detail.to_string(),
        }
    }
}
