//! Durable email: every message goes through the job queue (kind [`KIND`]), so a request
//! never waits on SMTP and a message survives an SMTP outage or a restart. The handler sends
//! with [`super::Mailer::send`]; a delivery failure is retried with the job layer's backoff
//! until the job's attempt limit, then the job is dead (visible in the admin console).
//!
//! Bodies carry one-time links (verification, reset, invitation tokens), so the payload is a
//! secret at rest: it is sealed with the vault (bound to the tenant, the `jobs` table and the
//! `email` field) and stored base64 in `jobs.payload`; it is never logged.
//!
//! An email that carries a one-time link is queued in the transaction that stores the link
//! ([`prepare`] gives the [`EmailJob`] that the repository function writes), so a crash
//! cannot leave a link without its email or an email without its link.

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::STANDARD};
use serde::{Deserialize, Serialize};

use super::{MailError, OutgoingEmail};
use crate::{
    context::AppContext,
    db::{self, DbError, jobs::TxJob},
    domain::{Email, Secret},
    jobs::{self, BoxFuture, Handler, Job, JobFailure, JobRequest},
    vault::{Aad, KeyRing},
};

/// The job kind of an email.
pub const KIND: &str = "email";

/// The message itself, sealed in the job's payload.
#[derive(Serialize, Deserialize)]
struct Message {
    to: String,
    subject: String,
    text: String,
    html: String,
}

/// `jobs.payload` of an email job: the sealed [`Message`], base64.
#[derive(Serialize, Deserialize)]
struct Payload {
    sealed: String,
}

fn aad(tenant_id: i64) -> Aad {
    Aad::new(tenant_id, "jobs", 0, "email")
}

/// An email ready to be queued in a repository function's transaction (a [`TxJob`]): the
/// message, and the key ring that seals it for the tenant the job is filed under without
/// any I/O. Wake the workers after the commit (`jobs::wake`).
pub struct EmailJob {
    message: Secret,
    ring: Arc<KeyRing>,
    max_attempts: i32,
}

impl std::fmt::Debug for EmailJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmailJob(..)")
    }
}

/// Makes `email` ready to be queued in the caller's transaction.
pub async fn prepare(ctx: &AppContext, email: OutgoingEmail) -> Result<EmailJob, MailError> {
    let message = Message {
        to: email.to.as_str().to_owned(),
        subject: email.subject,
        text: email.text,
        html: email.html,
    };
    let message =
        Secret::new(serde_json::to_string(&message).map_err(|e| MailError::Build(e.to_string()))?);
    let ring = ctx
        .vault
        .sealing_ring()
        .await
        .map_err(|e| MailError::Queue(e.to_string()))?;
    Ok(EmailJob {
        message,
        ring,
        max_attempts: i32::try_from(ctx.jobs.max_attempts).unwrap_or(i32::MAX),
    })
}

impl TxJob for EmailJob {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn max_attempts(&self) -> i32 {
        self.max_attempts
    }

    fn payload(&self, tenant_id: i64) -> Result<String, DbError> {
        let sealed = self
            .ring
            .seal(&aad(tenant_id), &self.message)
            .map_err(|e| DbError::Other(sqlx::Error::Encode(Box::new(e))))?;
        jobs::to_payload(&Payload {
            sealed: STANDARD.encode(sealed),
        })
    }
}

/// Queues `email` for delivery on behalf of `tenant_id`. An account without any tenant (staff
/// only) has no tenant to file a job under: its email is sent at once, as before.
pub async fn enqueue(
    ctx: &AppContext,
    tenant_id: Option<i64>,
    email: OutgoingEmail,
) -> Result<(), MailError> {
    let Some(tenant_id) = tenant_id else {
        return ctx.mailer.send(email).await;
    };
    let job = prepare(ctx, email).await?;
    let payload = job
        .payload(tenant_id)
        .map_err(|e| MailError::Queue(e.to_string()))?;
    let request = JobRequest {
        tenant_id,
        connection_id: None,
        kind: KIND,
        key: None,
        store_hash: None,
        payload,
        run_at: db::now(),
    };
    jobs::enqueue(ctx, &request)
        .await
        .map_err(|e| MailError::Queue(e.to_string()))?;
    Ok(())
}

/// Sends queued emails.
pub struct EmailJobs;

impl EmailJobs {
    async fn run(&self, ctx: &AppContext, job: &Job) -> Result<(), JobFailure> {
        let payload: Payload = serde_json::from_str(&job.payload)
            .map_err(|_| JobFailure::Fail("unreadable email job payload".into()))?;
        let sealed = STANDARD
            .decode(payload.sealed)
            .map_err(|_| JobFailure::Fail("unreadable email job payload".into()))?;
        let plain = ctx
            .vault
            .open(&aad(job.tenant_id), &sealed)
            .await
            .map_err(|_| JobFailure::Fail("cannot open the sealed email".into()))?;
        let message: Message = serde_json::from_str(plain.expose())
            .map_err(|_| JobFailure::Fail("unreadable sealed email".into()))?;
        let to = Email::parse(&message.to)
            .map_err(|_| JobFailure::Fail("the recipient is not an email address".into()))?;
        let email = OutgoingEmail {
            to,
            subject: message.subject,
            text: message.text,
            html: message.html,
        };
        match ctx.mailer.send(email).await {
            Ok(()) => Ok(()),
            Err(e @ MailError::Build(_)) => Err(JobFailure::Fail(e.to_string())),
            Err(e) => Err(JobFailure::Retry(e.to_string())),
        }
    }
}

impl Handler for EmailJobs {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn execute<'a>(
        &'a self,
        ctx: &'a AppContext,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<(), JobFailure>> {
        Box::pin(self.run(ctx, job))
    }
}
