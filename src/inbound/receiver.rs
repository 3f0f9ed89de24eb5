//! The receiver's engine: a short-lived cache of connections by public id (so a delivery
//! costs no database read), and one writer task that stores deliveries in batches: every
//! delivery waiting is inserted, with its processing job, in one transaction, and each
//! request is answered only after the batch that holds it committed (group commit).

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use tokio::sync::{mpsc, oneshot};

use crate::db::{
    Db, DbError,
    inbound::{Endpoint, InboxWriter, NewDelivery},
};

/// How long a looked-up connection is trusted (settings changes in this process invalidate
/// at once; other processes see them within this).
const TTL: Duration = Duration::from_secs(5);
/// Most deliveries per transaction.
const MAX_BATCH: usize = 512;
/// Deliveries waiting for the writer before requests get 503 (BigCommerce retries).
const QUEUE: usize = 8192;

type Ack = oneshot::Sender<Result<bool, String>>;

/// A store's channels: (id, name).
pub type Channels = Vec<(i64, String)>;

/// Shared by the HTTP workers of one process.
pub struct Receiver {
    cache: RwLock<HashMap<String, (Instant, Arc<Endpoint>)>>,
    /// Each connection's store channels (id, name), for consumers that name storefronts.
    pub channels: std::sync::Mutex<HashMap<i64, (Instant, Channels)>>,
    writer: mpsc::Sender<(NewDelivery, Ack)>,
}

/// Why a delivery was not stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the inbox is full")]
    Busy,
    #[error("{0}")]
    Failed(String),
}

impl Receiver {
    /// Starts the writer task on the current runtime.
    pub fn start(db: Db, max_attempts: i32) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_forever(db, rx, max_attempts));
        Self {
            cache: RwLock::new(HashMap::new()),
            channels: std::sync::Mutex::new(HashMap::new()),
            writer: tx,
        }
    }

    /// The connection behind `public_id` (cached), `None` when there is none.
    pub async fn endpoint(
        &self,
        db: &Db,
        public_id: &str,
    ) -> Result<Option<Arc<Endpoint>>, DbError> {
        if let Ok(cache) = self.cache.read()
            && let Some((at, endpoint)) = cache.get(public_id)
            && at.elapsed() < TTL
        {
            return Ok(Some(endpoint.clone()));
        }
        let Some(endpoint) = crate::db::inbound::endpoint(db, public_id).await? else {
            return Ok(None);
        };
        let endpoint = Arc::new(endpoint);
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() > 100_000 {
                cache.clear();
            }
            cache.insert(public_id.to_owned(), (Instant::now(), endpoint.clone()));
        }
        Ok(Some(endpoint))
    }

    /// Forgets every cached connection (after registrations changed).
    pub fn invalidate(&self) {
        if let Ok(mut cache) = self.cache.write() {
            cache.clear();
        }
    }

    /// Stores a delivery with its job; returns once it is committed: `true` if it was new,
    /// `false` for a duplicate (stored before).
    pub async fn store(&self, delivery: NewDelivery) -> Result<bool, StoreError> {
        let (ack, done) = oneshot::channel();
        self.writer
            .try_send((delivery, ack))
            .map_err(|_| StoreError::Busy)?;
        match done.await {
            Ok(Ok(fresh)) => Ok(fresh),
            Ok(Err(e)) => Err(StoreError::Failed(e)),
            Err(_) => Err(StoreError::Failed("the inbox writer stopped".into())),
        }
    }
}

async fn write_forever(db: Db, mut rx: mpsc::Receiver<(NewDelivery, Ack)>, max_attempts: i32) {
    let mut writer = InboxWriter::new(db);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (deliveries, acks): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        match writer.insert(&deliveries, max_attempts).await {
            Ok(fresh) => {
                if fresh.iter().any(|f| *f) {
                    crate::jobs::wake();
                }
                for (ack, fresh) in acks.into_iter().zip(fresh) {
                    let _ = ack.send(Ok(fresh));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, count = acks.len(), "cannot store webhook deliveries");
                for ack in acks {
                    let _ = ack.send(Err(e.to_string()));
                }
            }
        }
    }
}
