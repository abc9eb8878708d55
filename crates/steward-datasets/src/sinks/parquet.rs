//! Parquet output: every column UTF-8 (generalized values are labels such as `10-19`), zstd
//! compressed, written in row groups so memory stays bounded by one batch.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::DatasetError;
use crate::sources::{Progress, Silent};

/// Rows per record batch (and so at most per row group).
const BATCH_ROWS: usize = 65_536;

fn pq(e: impl std::fmt::Display) -> DatasetError {
    DatasetError::Parquet(e.to_string())
}

/// Writes `rows` (each as wide as `header`) to a new file at `path` and fsyncs it.
pub fn write(path: &Path, header: &[String], rows: &[Vec<String>]) -> Result<(), DatasetError> {
    write_with_progress(path, header, rows, &Silent)
}

/// [`write`], counting rows to `progress` batch by batch.
pub fn write_with_progress(
    path: &Path,
    header: &[String],
    rows: &[Vec<String>],
    progress: &dyn Progress,
) -> Result<(), DatasetError> {
    let schema = Arc::new(Schema::new(
        header
            .iter()
            .map(|h| Field::new(h, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).map_err(pq)?))
        .build();
    let file = File::create(path).map_err(|e| DatasetError::io(path, e))?;
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(pq)?;
    for chunk in rows.chunks(BATCH_ROWS) {
        let columns: Vec<ArrayRef> = (0..header.len())
            .map(|c| {
                Arc::new(StringArray::from_iter_values(
                    chunk.iter().map(|r| r.get(c).map_or("", String::as_str)),
                )) as ArrayRef
            })
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(pq)?;
        writer.write(&batch).map_err(pq)?;
        progress.inc(chunk.len() as u64);
    }
    let file = writer.into_inner().map_err(pq)?;
    file.sync_all().map_err(|e| DatasetError::io(path, e))
}

/// Reads a file written by [`write`] back as header and rows (for verification and tests).
pub fn read(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>), DatasetError> {
    use arrow_array::Array;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = File::open(path).map_err(|e| DatasetError::io(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq)?;
    let header: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let reader = builder.build().map_err(pq)?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(pq)?;
        let columns: Vec<&StringArray> = batch
            .columns()
            .iter()
            .map(|c| {
                c.as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or_else(|| pq("a column is not UTF-8"))
            })
            .collect::<Result<_, _>>()?;
        for r in 0..batch.num_rows() {
            rows.push(
                columns
                    .iter()
                    .map(|c| {
                        if c.is_null(r) {
                            String::new()
                        } else {
                            c.value(r).to_owned()
                        }
                    })
                    .collect(),
            );
        }
    }
    Ok((header, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let header = vec!["a".to_owned(), "b".to_owned()];
        let rows: Vec<Vec<String>> = (0..1000)
            .map(|i| vec![format!("{i}"), format!("v{}", i % 7)])
            .collect();
        write(&path, &header, &rows).unwrap();
        let (h, r) = read(&path).unwrap();
        assert_eq!(h, header);
        assert_eq!(r, rows);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], b"PAR1");
    }
}
