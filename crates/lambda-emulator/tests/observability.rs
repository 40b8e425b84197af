//! The template's alarms and dashboard and the functions' metrics agree: every
//! metric the template names in the `Airlock` namespace is one the code emits, with
//! the dimension the code sets, every metric the code emits is on the dashboard, and
//! every alarm is on the dashboard's alarm widget.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod sam;

use std::collections::BTreeSet;

use airlock_telemetry::metrics::{FUNCTION_DIMENSION, Metric, NAMESPACE};
use sam::template;
use serde_json::Value;
use yaml_rust2::Yaml;

fn resources_of_type<'a>(template: &'a Yaml, kind: &str) -> Vec<(String, &'a Yaml)> {
    template["Resources"]
        .as_hash()
        .unwrap()
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
        .map(|(name, resource)| (name.as_str().unwrap().to_owned(), resource))
        .collect()
}

/// The dashboard's body as JSON, with every `${...}` substitution stood in for.
fn dashboard(template: &Yaml) -> Value {
    let dashboards = resources_of_type(template, "AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1, "one dashboard");
    let body = dashboards[0].1["Properties"]["DashboardBody"]
        .as_str()
        .unwrap();
    let mut text = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').unwrap() + start;
        text.push_str(&rest[..start]);
        text.push_str(&format!("SUB:{}", &rest[start + 2..end]));
        rest = &rest[end + 1..];
    }
    text.push_str(rest);
    serde_json::from_str(&text).unwrap()
}

fn catalogue() -> BTreeSet<&'static str> {
    Metric::ALL.iter().map(|m| m.name()).collect()
}

#[test]
fn every_alarm_on_an_airlock_metric_names_one_the_functions_emit() {
    let template = template();
    let mut seen = 0;
    for (name, alarm) in resources_of_type(&template, "AWS::CloudWatch::Alarm") {
        let properties = &alarm["Properties"];
        if properties["Namespace"].as_str() != Some(NAMESPACE) {
            continue;
        }
        seen += 1;
        let metric = properties["MetricName"].as_str().unwrap();
        assert!(
            catalogue().contains(metric),
            "{name} alarms on unknown {metric}"
        );
        let dimensions = properties["Dimensions"].as_vec().unwrap();
        assert_eq!(dimensions.len(), 1, "{name}");
        assert_eq!(
            dimensions[0]["Name"].as_str(),
            Some(FUNCTION_DIMENSION),
            "{name}"
        );
    }
    assert_eq!(seen, 2, "the rejected and infected alarms");
}

#[test]
fn the_dashboard_shows_every_metric_the_functions_emit_and_every_alarm() {
    let template = template();
    let dashboard = dashboard(&template);
    let mut shown = BTreeSet::new();
    let mut alarms = BTreeSet::new();
    for widget in dashboard["widgets"].as_array().unwrap() {
        for row in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let row = row.as_array().unwrap();
            if row[0] == NAMESPACE {
                let name = row[1].as_str().unwrap();
                assert!(
                    catalogue().contains(name),
                    "the dashboard shows unknown {name}"
                );
                assert_eq!(row[2], FUNCTION_DIMENSION, "{name}");
                shown.insert(name);
            }
        }
        for alarm in widget["properties"]["alarms"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let reference = alarm.as_str().unwrap();
            let resource = reference
                .strip_prefix("SUB:")
                .and_then(|r| r.strip_suffix(".Arn"))
                .unwrap();
            alarms.insert(resource.to_owned());
        }
    }
    assert_eq!(shown, catalogue(), "metrics missing from the dashboard");
    let declared: BTreeSet<String> = resources_of_type(&template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(alarms, declared, "alarms missing from the dashboard");
}
