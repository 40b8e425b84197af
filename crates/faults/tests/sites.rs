//! The table of points and the `fault!` sites in the workspace's source agree exactly:
//! each listed name is used once, and no `fault!` uses a name that is not listed.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use airlock_faults::POINTS;

/// The workspace root (this crate is crates/faults).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `dir`, but this crate's own (its docs name the macro).
fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.ends_with("crates/faults") || path.ends_with("target") {
            continue;
        }
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// The names the `fault!` invocations in `text` use.
fn fault_names(text: &str) -> Vec<String> {
    text.split("fault!(")
        .skip(1)
        .filter_map(|after| after.trim_start().strip_prefix('"'))
        .filter_map(|name| name.split_once('"').map(|(name, _)| name.to_owned()))
        .collect()
}

fn sites() -> BTreeMap<String, Vec<PathBuf>> {
    let mut files = Vec::new();
    for dir in ["crates", "functions"] {
        sources(&workspace().join(dir), &mut files);
    }
    let mut sites: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for file in files {
        for name in fault_names(&std::fs::read_to_string(&file).unwrap()) {
            sites.entry(name).or_default().push(file.clone());
        }
    }
    sites
}

#[test]
fn every_listed_point_has_exactly_one_site_and_every_site_is_listed() {
    let sites = sites();
    for point in POINTS {
        let used = sites.get(point.name).map_or(0, Vec::len);
        assert_eq!(used, 1, "{} is used {used} times: {sites:?}", point.name);
    }
    for (name, files) in &sites {
        assert!(
            POINTS.iter().any(|p| p.name == name),
            "{name} is used in {files:?} but not listed in POINTS"
        );
    }
}

#[test]
fn point_names_are_unique_and_name_their_component() {
    for (i, point) in POINTS.iter().enumerate() {
        assert!(
            POINTS[i + 1..].iter().all(|other| other.name != point.name),
            "{} is listed twice",
            point.name
        );
        let (component, boundary) = point.name.split_once('.').unwrap();
        assert!(!component.is_empty() && !boundary.is_empty());
    }
}

#[test]
fn the_site_reader_finds_names_across_line_breaks() {
    let text = "fault!(\n    \"a.b\",\n |e| x);\nfault!(\"c.d\", |e| y)";
    assert_eq!(fault_names(text), ["a.b", "c.d"]);
}
