//! The two migration folders describe one schema: same files, and (when PostgreSQL is
//! available) the same tables with the same columns after migrating both.

use std::collections::BTreeSet;

use cartbridge::{config::DatabaseUrl, db::Db};

use crate::helpers::fresh_database_url;

fn migration_files(backend: &str) -> BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn both_backends_have_the_same_migration_files() {
    let sqlite = migration_files("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite,
        migration_files("postgres"),
        "add each migration to both folders, same number and name"
    );
}

async fn columns(db: &Db) -> BTreeSet<(String, String)> {
    let rows: Vec<(String, String)> = match db {
        Db::Sqlite(p) => sqlx::query_as(
            "SELECT m.name, c.name FROM sqlite_master m JOIN pragma_table_info(m.name) c \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
        )
        .fetch_all(p)
        .await,
        Db::Postgres(p) => sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
        )
        .fetch_all(p)
        .await,
    }
    .expect("list columns");
    rows.into_iter().collect()
}

#[tokio::test]
async fn both_backends_migrate_to_the_same_tables_and_columns() {
    if std::env::var("CARTBRIDGE_TEST_POSTGRES_URL").is_err() {
        // The SQLite pass has no PostgreSQL to compare with; the PostgreSQL pass runs this.
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url =
        DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("m.db").display())).unwrap();
    let sqlite = Db::connect(&sqlite_url, 1).await.unwrap();
    sqlite.migrate().await.unwrap();
    let pg = Db::connect(
        &DatabaseUrl::parse(&fresh_database_url(dir.path()).await).unwrap(),
        1,
    )
    .await
    .unwrap();
    pg.migrate().await.unwrap();
    let (lite, post) = (columns(&sqlite).await, columns(&pg).await);
    assert!(lite.len() > 20, "the schema was read: {lite:?}");
    assert_eq!(
        lite.symmetric_difference(&post).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "columns present in only one backend"
    );
}
