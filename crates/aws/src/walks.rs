//! Sweep's walks on DynamoDB: where each stopped, one item per walk beside the file
//! items (`kind=cursor`, which stream readers skip as not a file), and the walk over
//! decided files by creation on the `due` index, a page of `Limit` items a run with
//! CLEAN ones kept by a filter (applied after the limit, so a page's work is bounded).

use airlock_domain::{
    FileItem, FileStatus,
    ports::{CatalogCleanWalk, CatalogError, CleanPage, SweepCursors},
};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::dynamo::{DynamoCatalog, Item, backend, page_limit, records, s};

fn cursor_key(name: &str) -> Item {
    Item::from([
        ("pk".to_owned(), s(&format!("SWEEP#{name}"))),
        ("sk".to_owned(), s("CURSOR")),
    ])
}

fn corrupt(e: impl std::error::Error + Send + Sync + 'static) -> CatalogError {
    CatalogError::Corrupt(Box::new(e))
}

impl SweepCursors for DynamoCatalog {
    async fn cursor(&self, name: &str) -> Result<Option<String>, CatalogError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(cursor_key(name)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(output
            .item
            .and_then(|item| item.get("position")?.as_s().ok().cloned()))
    }

    async fn set_cursor(&self, name: &str, position: Option<&str>) -> Result<(), CatalogError> {
        // A put without a position rather than a delete: the role needs no DeleteItem.
        let mut item = cursor_key(name);
        item.insert("kind".to_owned(), s("cursor"));
        if let Some(position) = position {
            item.insert("position".to_owned(), s(position));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}

/// A page's last evaluated key (all strings on this table) as a cursor, and back.
fn encode(key: &Item) -> Result<String, CatalogError> {
    let strings: std::collections::BTreeMap<&str, &str> = key
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.as_s().ok()?.as_str())))
        .collect();
    serde_json::to_string(&strings).map_err(corrupt)
}

fn decode(cursor: &str) -> Result<Item, CatalogError> {
    let strings: std::collections::BTreeMap<String, String> =
        serde_json::from_str(cursor).map_err(corrupt)?;
    Ok(strings
        .into_iter()
        .map(|(name, value)| (name, AttributeValue::S(value)))
        .collect())
}

impl CatalogCleanWalk for DynamoCatalog {
    async fn clean_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<CleanPage, CatalogError> {
        let output = self
            .due_index()
            .key_condition_expression("due_pk = :due")
            .filter_expression("#status = :clean")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":due", s(FileItem::DUE_DECIDED))
            .expression_attribute_values(":clean", s(FileStatus::Clean.as_str()))
            .limit(page_limit(limit))
            .set_exclusive_start_key(after.map(decode).transpose()?)
            .send()
            .await
            .map_err(backend)?;
        Ok(CleanPage {
            records: records(output.items.unwrap_or_default())?,
            next: output.last_evaluated_key.as_ref().map(encode).transpose()?,
        })
    }
}
