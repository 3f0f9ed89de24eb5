//! The streaming loop both CSV exports share (inventory, shipments): a table read by key,
//! one page per database round trip, each page written out as a CSV chunk as it comes, so
//! memory stays flat however large the table. The header row leads the first chunk (and is
//! all there is when there are no rows); an error ends the stream, cutting the response
//! short. What a row looks like is the caller's: it reads the pages and writes the rows.

use bytes::Bytes;
use futures_util::{Stream, stream};

use crate::db::DbError;

/// Why the stream stopped early (the response is then cut short).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// How a table is exported: its pages and its rows as CSV.
pub struct Export<R, F> {
    /// Rows per database round trip.
    pub page: i64,
    /// Reads up to `limit` rows whose key is above `after`, by key.
    pub fetch: F,
    /// A row's key (the `after` of the next page).
    pub key: fn(&R) -> i64,
    /// CSV text for some rows, the header first when asked.
    pub to_csv: fn(&[R], bool) -> Result<Vec<u8>, csv::Error>,
}

struct Cursor<R, F> {
    export: Export<R, F>,
    after: i64,
    header: bool,
    done: bool,
}

/// The table as a stream of CSV chunks, starting after key 0.
pub fn csv_stream<R, F, Fut>(export: Export<R, F>) -> impl Stream<Item = Result<Bytes, ExportError>>
where
    F: Fn(i64, i64) -> Fut,
    Fut: Future<Output = Result<Vec<R>, DbError>>,
{
    let start = Cursor {
        export,
        after: 0,
        header: true,
        done: false,
    };
    stream::unfold(start, |mut c| async move {
        if c.done {
            return None;
        }
        let page = (c.export.fetch)(c.after, c.export.page).await;
        let chunk = page.map_err(ExportError::from).and_then(|rows| {
            c.done = (rows.len() as i64) < c.export.page;
            if let Some(last) = rows.last() {
                c.after = (c.export.key)(last);
            }
            let text = (c.export.to_csv)(&rows, c.header)?;
            c.header = false;
            Ok(Bytes::from(text))
        });
        if chunk.is_err() {
            c.done = true;
        }
        Some((chunk, c))
    })
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    fn to_csv(rows: &[i64], header: bool) -> Result<Vec<u8>, csv::Error> {
        let mut out = csv::Writer::from_writer(Vec::new());
        if header {
            out.write_record(["n"])?;
        }
        for n in rows {
            out.write_record([n.to_string()])?;
        }
        out.into_inner().map_err(|e| e.into_error().into())
    }

    async fn export(rows: i64, page: i64) -> (Vec<String>, Vec<i64>) {
        let asked = std::sync::Mutex::new(Vec::new());
        let chunks: Vec<_> = csv_stream(Export {
            page,
            fetch: |after, limit| {
                asked.lock().unwrap().push(after);
                async move { Ok((after + 1..=rows.min(after + limit)).collect()) }
            },
            key: |n: &i64| *n,
            to_csv,
        })
        .collect()
        .await;
        let text = chunks
            .into_iter()
            .map(|c| String::from_utf8(c.unwrap().to_vec()).unwrap())
            .collect();
        (text, asked.into_inner().unwrap())
    }

    #[tokio::test]
    async fn pages_follow_the_last_key_and_only_the_first_chunk_has_the_header() {
        let (chunks, asked) = export(5, 2).await;
        assert_eq!(chunks, ["n\n1\n2\n", "3\n4\n", "5\n"]);
        assert_eq!(asked, [0, 2, 4]);
        // A last page that is exactly full needs one more read, which finds nothing.
        let (chunks, asked) = export(4, 2).await;
        assert_eq!(chunks, ["n\n1\n2\n", "3\n4\n", ""]);
        assert_eq!(asked, [0, 2, 4]);
        let (chunks, _) = export(0, 2).await;
        assert_eq!(chunks, ["n\n"]);
    }

    #[tokio::test]
    async fn an_error_ends_the_stream() {
        let chunks: Vec<_> = csv_stream(Export {
            page: 2,
            fetch: |_, _| async { Err::<Vec<i64>, _>(DbError::NotFound) },
            key: |n: &i64| *n,
            to_csv,
        })
        .collect()
        .await;
        assert_eq!(chunks.len(), 1);
        assert!(matches!(chunks[0], Err(ExportError::Db(DbError::NotFound))));
    }
}
