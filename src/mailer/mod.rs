//! Outgoing email through lettre: SMTP when `CARTBRIDGE_SMTP_URL` is set, otherwise `.eml`
//! files in `<data dir>/outbox/`. Message texts live in `messages.rs` over `templates/email`.

use std::path::Path;

use anyhow::Context;
use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Body, Mailbox, MultiPart, header::ContentTransferEncoding},
};

use crate::domain::{Email, Secret};

pub mod messages;
pub mod queue;

pub use queue::{EmailJob, EmailJobs, enqueue, prepare};

/// An email ready to send: text and HTML bodies of the same content.
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why an email could not be sent (the SMTP URL, which may hold a password, is never shown).
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("cannot build the message: {0}")]
    Build(String),
    #[error("cannot deliver the message: {0}")]
    Deliver(String),
    #[error("cannot queue the message: {0}")]
    Queue(String),
}

/// A body sent as written (7bit, or 8bit for non-ASCII text), so that a link in it stays
/// one clickable line even in a raw `.eml` from the outbox. lettre would pick
/// quoted-printable for any line over 76 characters; RFC 5322 allows 998, which every link we
/// send fits. Longer lines fall back to lettre's own choice.
fn readable(text: String) -> Body {
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let fits = !crlf.contains('\0') && crlf.split("\r\n").all(|line| line.len() <= 998);
    match (fits, crlf.is_ascii()) {
        (true, true) => {
            Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
        }
        (true, false) => {
            Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::EightBit)
        }
        (false, _) => Body::new(text),
    }
}

enum Transport {
    File(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Sends cartbridge's emails.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

/// Checks that an SMTP URL can be used, without echoing it.
pub fn check_smtp_url(url: &Secret) -> Result<(), String> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
        .map(|_| ())
        .map_err(|_| {
            "must be smtp://host[:port], smtp://host?tls=required or smtps://user:password@host (the value is not shown)".into()
        })
}

impl Mailer {
    /// SMTP if `smtp_url` is given, else the file outbox in `outbox_dir` (created if missing).
    pub fn new(
        smtp_url: Option<&Secret>,
        outbox_dir: &Path,
        from: Mailbox,
    ) -> anyhow::Result<Self> {
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|_| anyhow::anyhow!("CARTBRIDGE_SMTP_URL is not a usable SMTP URL"))?
                    .build(),
            ),
            None => {
                std::fs::create_dir_all(outbox_dir).with_context(|| {
                    format!("cannot create the email outbox {}", outbox_dir.display())
                })?;
                Transport::File(AsyncFileTransport::<Tokio1Executor>::new(outbox_dir))
            }
        };
        Ok(Self { transport, from })
    }

    pub fn describe(&self) -> &'static str {
        match self.transport {
            Transport::File(_) => "file outbox",
            Transport::Smtp(_) => "SMTP",
        }
    }

    #[tracing::instrument(skip_all, fields(subject = %email.subject))]
    pub async fn send(&self, email: OutgoingEmail) -> Result<(), MailError> {
        let to: Mailbox = email
            .to
            .as_str()
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::Build(e.to_string()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject)
            .multipart(MultiPart::alternative_plain_html(
                readable(email.text),
                readable(email.html),
            ))
            .map_err(|e| MailError::Build(e.to_string()))?;
        match &self.transport {
            Transport::File(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Deliver(e.to_string())),
            Transport::Smtp(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Deliver(e.to_string())),
        }?;
        tracing::info!(transport = self.describe(), "email sent");
        Ok(())
    }
}
