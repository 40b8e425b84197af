//! `infra/template.yaml`, parsed: what the tests that hold the deployment to its
//! template (roles, bucket policy, alarms and dashboard) read.

use yaml_rust2::{Yaml, YamlLoader};

/// The SAM template, as one YAML document.
pub fn template() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
    let text = std::fs::read_to_string(path).expect("infra/template.yaml is readable");
    YamlLoader::load_from_str(&text)
        .expect("the template is YAML")
        .remove(0)
}
