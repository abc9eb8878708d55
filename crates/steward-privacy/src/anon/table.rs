//! The input table: delimited text parsed once into dictionary-encoded columns.
//!
//! Fields are taken literally (no quoting): the formats this toolkit reads (ARX's layout of
//! census extracts, the dataset builds) never quote, and a literal reading cannot silently
//! reinterpret a value.

use std::collections::HashMap;

use super::AnonError;

/// One column: distinct values in order of first appearance, and each row's index into them.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub(crate) dict: Vec<String>,
    pub(crate) codes: Vec<u32>,
}

/// A table of text cells, stored column-wise as integer codes.
#[derive(Debug, Clone)]
pub struct Table {
    header: Vec<String>,
    pub(crate) columns: Vec<Column>,
    rows: usize,
}

impl Table {
    /// Parses delimited text whose first line is the header.
    pub fn parse(bytes: &[u8], sep: u8) -> Result<Table, AnonError> {
        let text = std::str::from_utf8(bytes).map_err(|e| AnonError::InvalidUtf8 {
            line: 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
        })?;
        let sep = char::from(sep);
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let header: Vec<String> = match lines.next() {
            Some(h) if !h.is_empty() => h.split(sep).map(str::to_owned).collect(),
            _ => return Err(AnonError::EmptyTable),
        };
        let width = header.len();
        let mut builders: Vec<ColumnBuilder> =
            (0..width).map(|_| ColumnBuilder::default()).collect();
        let mut rows = 0;
        let mut pending_empty: Option<usize> = None;
        for (i, line) in lines.enumerate() {
            let line_no = i + 2;
            if line.is_empty() {
                // Only trailing blank lines are tolerated; a blank line followed by data is ragged.
                pending_empty.get_or_insert(line_no);
                continue;
            }
            if let Some(blank) = pending_empty {
                return Err(AnonError::RaggedRow {
                    line: blank,
                    found: 0,
                    expected: width,
                });
            }
            let mut found = 0;
            for field in line.split(sep) {
                if found < width {
                    builders[found].push(field);
                }
                found += 1;
            }
            if found != width {
                return Err(AnonError::RaggedRow {
                    line: line_no,
                    found,
                    expected: width,
                });
            }
            rows += 1;
        }
        Table::check_header(&header)?;
        Ok(Table {
            header,
            columns: builders.into_iter().map(ColumnBuilder::finish).collect(),
            rows,
        })
    }

    /// Builds a table from rows of cells (tests and callers that already hold the data).
    pub fn from_rows(header: Vec<String>, rows: &[Vec<String>]) -> Result<Table, AnonError> {
        let width = header.len();
        if width == 0 {
            return Err(AnonError::EmptyTable);
        }
        Table::check_header(&header)?;
        let mut builders: Vec<ColumnBuilder> =
            (0..width).map(|_| ColumnBuilder::default()).collect();
        for (i, row) in rows.iter().enumerate() {
            if row.len() != width {
                return Err(AnonError::RaggedRow {
                    line: i + 2,
                    found: row.len(),
                    expected: width,
                });
            }
            for (b, cell) in builders.iter_mut().zip(row) {
                b.push(cell);
            }
        }
        Ok(Table {
            header,
            columns: builders.into_iter().map(ColumnBuilder::finish).collect(),
            rows: rows.len(),
        })
    }

    fn check_header(header: &[String]) -> Result<(), AnonError> {
        let mut seen = std::collections::HashSet::new();
        for h in header {
            if !seen.insert(h.as_str()) {
                return Err(AnonError::DuplicateColumn(h.clone()));
            }
        }
        Ok(())
    }

    pub fn header(&self) -> &[String] {
        &self.header
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The index of a column by name.
    pub fn column_index(&self, name: &str) -> Result<usize, AnonError> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| AnonError::UnknownColumn(name.to_owned()))
    }

    /// The cell at `row`, `column` (both in range, else the empty string).
    pub fn value(&self, row: usize, column: usize) -> &str {
        self.columns
            .get(column)
            .and_then(|c| c.codes.get(row).and_then(|&code| c.dict.get(code as usize)))
            .map_or("", String::as_str)
    }

    /// Distinct values of a column with their counts, most frequent first (ties by first
    /// appearance), e.g. to build a top-N hierarchy.
    pub fn value_counts(&self, column: usize) -> Vec<(String, u64)> {
        let Some(col) = self.columns.get(column) else {
            return Vec::new();
        };
        let mut counts = vec![0u64; col.dict.len()];
        for &c in &col.codes {
            counts[c as usize] += 1;
        }
        let mut out: Vec<(String, u64)> = col.dict.iter().cloned().zip(counts).collect();
        out.sort_by_key(|b| std::cmp::Reverse(b.1));
        out
    }
}

#[derive(Default)]
struct ColumnBuilder {
    index: HashMap<String, u32>,
    dict: Vec<String>,
    codes: Vec<u32>,
}

impl ColumnBuilder {
    fn push(&mut self, value: &str) {
        let code = match self.index.get(value) {
            Some(&c) => c,
            None => {
                let c = self.dict.len() as u32;
                self.index.insert(value.to_owned(), c);
                self.dict.push(value.to_owned());
                c
            }
        };
        self.codes.push(code);
    }

    fn finish(self) -> Column {
        Column {
            dict: self.dict,
            codes: self.codes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_encodes() {
        let t = Table::parse(b"a;b\r\nx;1\ny;1\nx;2\n\n", b';').unwrap();
        assert_eq!(t.rows(), 3);
        assert_eq!(t.value(2, 0), "x");
        assert_eq!(t.value(2, 1), "2");
        assert_eq!(t.columns[0].dict.len(), 2);
    }

    #[test]
    fn ragged_row_is_refused_with_its_line() {
        let e = Table::parse(b"a;b\nx;1\ny\n", b';').unwrap_err();
        assert_eq!(
            e,
            AnonError::RaggedRow {
                line: 3,
                found: 1,
                expected: 2
            }
        );
        assert_eq!(e.code(), "anon.ragged_row");
    }

    #[test]
    fn blank_line_inside_data_is_ragged() {
        let e = Table::parse(b"a;b\nx;1\n\ny;2\n", b';').unwrap_err();
        assert_eq!(e.code(), "anon.ragged_row");
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let e = Table::parse(b"a;b\nx;1\n\xff;2\n", b';').unwrap_err();
        assert_eq!(e, AnonError::InvalidUtf8 { line: 3 });
    }

    #[test]
    fn empty_input_and_duplicate_header() {
        assert_eq!(
            Table::parse(b"", b';').unwrap_err().code(),
            "anon.empty_table"
        );
        assert_eq!(
            Table::parse(b"a;a\n1;2\n", b';').unwrap_err().code(),
            "anon.duplicate_column"
        );
    }
}
