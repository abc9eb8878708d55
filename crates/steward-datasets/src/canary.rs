//! The canary audit's Parquet reader: a Parquet file's pages are zstd-compressed, so a canary
//! inside one never shows in the file's raw bytes. This [`Extractor`] decodes every string and
//! binary column (flat or inside lists and structs) and hands each value to the audit
//! (`steward_store::canary`), which searches it like any other text.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use steward_store::canary::Extractor;

/// Decodes Parquet files (recognised by the `PAR1` magic, whatever their name).
#[derive(Clone, Copy, Debug, Default)]
pub struct ParquetExtractor;

const MAGIC: &[u8] = b"PAR1";

impl Extractor for ParquetExtractor {
    fn name(&self) -> &'static str {
        "parquet column"
    }

    fn claims(&self, _path: &Path, head: &[u8]) -> bool {
        head.starts_with(MAGIC)
    }

    fn extract(&self, path: &Path, sink: &mut dyn FnMut(&str, &[u8])) -> Result<(), String> {
        let file = File::open(path).map_err(|e| e.to_string())?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| e.to_string())?;
        let names: Vec<String> = builder
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let reader = builder.build().map_err(|e| e.to_string())?;
        for batch in reader {
            let batch = batch.map_err(|e| e.to_string())?;
            for (name, column) in names.iter().zip(batch.columns()) {
                values(name, column, sink)?;
            }
        }
        Ok(())
    }
}

fn bytes(b: &[u8]) -> &[u8] {
    b
}

/// Hands every string or binary value of `array` to `sink`, descending into nested types.
fn values(name: &str, array: &ArrayRef, sink: &mut dyn FnMut(&str, &[u8])) -> Result<(), String> {
    macro_rules! each {
        ($typed:expr, $bytes:expr) => {{
            let a = $typed;
            for i in 0..a.len() {
                if a.is_valid(i) {
                    sink(name, $bytes(a.value(i)));
                }
            }
        }};
    }
    match array.data_type() {
        DataType::Utf8 => each!(array.as_string::<i32>(), str::as_bytes),
        DataType::LargeUtf8 => each!(array.as_string::<i64>(), str::as_bytes),
        DataType::Utf8View => each!(array.as_string_view(), str::as_bytes),
        DataType::Binary => each!(array.as_binary::<i32>(), bytes),
        DataType::LargeBinary => each!(array.as_binary::<i64>(), bytes),
        DataType::BinaryView => each!(array.as_binary_view(), bytes),
        DataType::FixedSizeBinary(_) => each!(array.as_fixed_size_binary(), bytes),
        DataType::List(_) => values(name, array.as_list::<i32>().values(), sink)?,
        DataType::LargeList(_) => values(name, array.as_list::<i64>().values(), sink)?,
        DataType::FixedSizeList(_, _) => {
            values(name, array.as_fixed_size_list().values(), sink)?;
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            for (field, child) in fields.iter().zip(s.columns()) {
                values(&format!("{name}.{}", field.name()), child, sink)?;
            }
        }
        DataType::Map(_, _) => {
            let m = array.as_map();
            values(&format!("{name}.key"), m.keys(), sink)?;
            values(&format!("{name}.value"), m.values(), sink)?;
        }
        DataType::Dictionary(_, _) => {
            let d = array
                .as_any_dictionary_opt()
                .ok_or_else(|| format!("column `{name}`: unreadable dictionary"))?;
            values(name, d.values(), sink)?;
        }
        // Numbers, booleans, dates and times cannot hold a token.
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_string_value_of_a_zstd_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.parquet");
        let token = "CANARY-note-0123456789abcdef";
        // Repeat the token so zstd compresses it away from the raw bytes.
        let rows: Vec<Vec<String>> = (0..2000)
            .map(|i| vec![format!("{i}"), format!("{token} {token} {token}")])
            .collect();
        crate::sinks::parquet::write(&path, &["id".into(), "text".into()], &rows).unwrap();
        let mut seen = 0usize;
        let mut labels = std::collections::BTreeSet::new();
        ParquetExtractor
            .extract(&path, &mut |label, v| {
                if std::str::from_utf8(v).unwrap().contains(token) {
                    seen += 1;
                    labels.insert(label.to_owned());
                }
            })
            .unwrap();
        assert_eq!(seen, 2000);
        assert_eq!(labels.into_iter().collect::<Vec<_>>(), vec!["text"]);
        let head = std::fs::read(&path).unwrap();
        assert!(ParquetExtractor.claims(&path, &head[..4]));
        assert!(!ParquetExtractor.claims(&path, b"{\"a\""));
    }
}
