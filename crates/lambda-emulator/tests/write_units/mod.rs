//! DynamoDB's write units for the changes of a file item, computed from the images a
//! stream record carries, the way DynamoDB bills them, rather than from the request
//! that made the change (an UpdateItem's request says nothing of the item's size, nor
//! of the indexes it moves in and out of).
//!
//! - An item's size is the sum of its attribute names and values: a string its UTF-8
//!   bytes, a number one byte per two significant digits plus one, a boolean or null
//!   one byte, a list or map three bytes plus one a member plus its members.
//! - A write to the table costs one unit per started KB of the larger of the item
//!   before and after it.
//! - Each global secondary index costs writes of its own: a put when the item gets the
//!   index's key, a delete when it loses it, both when the key changes, and one update
//!   when the key stays and another attribute it projects changes. The template's
//!   indexes project every attribute (`ALL`), so an index entry is as large as its item.

use serde_json::{Map, Value};
use yaml_rust2::Yaml;

const KB: u64 = 1024;

/// A global secondary index of the table, by its key attributes.
#[derive(Debug, Clone)]
pub struct Index {
    keys: Vec<String>,
}

/// The template's indexes on the catalog table; any projection but `ALL` is refused,
/// as its entries' sizes would need the projected attributes.
pub fn indexes_of(template: &Yaml) -> Vec<Index> {
    let table = &template["Resources"]["Table"]["Properties"];
    let indexes = table["GlobalSecondaryIndexes"]
        .as_vec()
        .expect("the template's Table has GlobalSecondaryIndexes");
    indexes
        .iter()
        .map(|index| {
            assert_eq!(
                index["Projection"]["ProjectionType"].as_str(),
                Some("ALL"),
                "price a projection other than ALL by its projected attributes"
            );
            Index {
                keys: index["KeySchema"]
                    .as_vec()
                    .unwrap()
                    .iter()
                    .map(|key| key["AttributeName"].as_str().unwrap().to_owned())
                    .collect(),
            }
        })
        .collect()
}

/// Units one stream record's change cost: the table's write plus each index's.
pub fn change_units(record: &Value, indexes: &[Index]) -> u64 {
    let image = |name: &str| record["dynamodb"][name].as_object().cloned();
    let (old, new) = (image("OldImage"), image("NewImage"));
    let size = |item: &Option<Map<String, Value>>| item.as_ref().map_or(0, item_size);
    let table = units(size(&old).max(size(&new)));
    let entries: u64 = indexes
        .iter()
        .map(|index| index_units(index, old.as_ref(), new.as_ref()))
        .sum();
    table + entries
}

/// Units one index's entry costs for a change from `old` to `new`.
fn index_units(
    index: &Index,
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
) -> u64 {
    let key = |item: Option<&Map<String, Value>>| {
        let item = item?;
        index
            .keys
            .iter()
            .map(|name| item.get(name).cloned())
            .collect::<Option<Vec<Value>>>()
    };
    match (key(old), key(new)) {
        (None, None) => 0,
        (None, Some(_)) => units(item_size(new.unwrap())),
        (Some(_), None) => units(item_size(old.unwrap())),
        (Some(before), Some(after)) if before != after => {
            units(item_size(old.unwrap())) + units(item_size(new.unwrap()))
        }
        (Some(_), Some(_)) if old != new => units(item_size(new.unwrap())),
        (Some(_), Some(_)) => 0,
    }
}

/// One unit per started KB, and at least one.
fn units(bytes: u64) -> u64 {
    bytes.div_ceil(KB).max(1)
}

/// An item's size as DynamoDB measures it, from its DynamoDB JSON.
pub fn item_size(item: &Map<String, Value>) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

/// One attribute value's size, from its DynamoDB JSON (`{"S": "…"}`, `{"N": "…"}`, …).
fn value_size(value: &Value) -> u64 {
    let (kind, inner) = value.as_object().unwrap().iter().next().unwrap();
    match kind.as_str() {
        "S" => inner.as_str().unwrap().len() as u64,
        "N" => number_size(inner.as_str().unwrap()),
        // Binary arrives base64-encoded: three bytes every four characters.
        "B" => inner.as_str().unwrap().len() as u64 * 3 / 4,
        "BOOL" | "NULL" => 1,
        "SS" => strings(inner).map(|s| s.len() as u64).sum(),
        "NS" => strings(inner).map(number_size).sum(),
        "L" => {
            let members = inner.as_array().unwrap();
            3 + members.iter().map(|m| 1 + value_size(m)).sum::<u64>()
        }
        "M" => {
            let members = inner.as_object().unwrap();
            3 + members
                .iter()
                .map(|(name, m)| 1 + name.len() as u64 + value_size(m))
                .sum::<u64>()
        }
        other => panic!("no size for DynamoDB type {other}"),
    }
}

fn strings(set: &Value) -> impl Iterator<Item = &str> {
    set.as_array().unwrap().iter().map(|s| s.as_str().unwrap())
}

/// A number's size: one byte per two significant digits, plus one.
fn number_size(text: &str) -> u64 {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let significant = digits
        .trim_start_matches('0')
        .trim_end_matches('0')
        .len()
        .max(1);
    (significant as u64).div_ceil(2) + 1
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn index() -> Index {
        Index {
            keys: vec!["status_pk".to_owned(), "sk".to_owned()],
        }
    }

    fn item(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn an_item_measures_its_names_and_values() {
        let measured =
            item(json!({"sk": {"S": "FILE#1"}, "size": {"N": "1200"}, "ok": {"BOOL": true}}));
        // 1200 has two significant digits: one byte, plus one.
        assert_eq!(item_size(&measured), (2 + 6) + (4 + 2) + (2 + 1));
    }

    #[test]
    fn an_index_whose_key_changes_costs_a_delete_and_a_put() {
        let old = item(json!({"status_pk": {"S": "T#PENDING"}, "sk": {"S": "FILE#1"}}));
        let new = item(json!({"status_pk": {"S": "T#CLEAN"}, "sk": {"S": "FILE#1"}}));
        assert_eq!(index_units(&index(), Some(&old), Some(&new)), 2);
    }

    #[test]
    fn an_index_the_item_enters_or_leaves_costs_one_write() {
        let inside = item(json!({"status_pk": {"S": "T#CLEAN"}, "sk": {"S": "FILE#1"}}));
        let outside = item(json!({"sk": {"S": "FILE#1"}}));
        assert_eq!(index_units(&index(), None, Some(&inside)), 1);
        assert_eq!(index_units(&index(), Some(&inside), Some(&outside)), 1);
        assert_eq!(index_units(&index(), Some(&outside), Some(&outside)), 0);
    }

    #[test]
    fn an_item_past_a_kilobyte_costs_a_unit_a_started_kilobyte() {
        let big = item(json!({"sk": {"S": "x".repeat(1500)}}));
        let record = json!({"dynamodb": {"NewImage": big}});
        assert_eq!(change_units(&record, &[]), 2);
    }
}
