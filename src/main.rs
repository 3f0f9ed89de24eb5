//! The `cartbridge` command: parses the command line and calls into the library.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

use anyhow::Context;
use cartbridge::{
    accounts,
    config::Settings,
    domain::Email,
    startup, telemetry,
    vault::{Vault, rotation},
};

/// Self-hostable integration platform for BigCommerce merchants and their trading partners.
/// Configuration comes from CARTBRIDGE_* environment variables (see README).
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Optional TOML file with settings (keys are the variable names without CARTBRIDGE_,
    /// lower-cased); environment variables win over it.
    #[arg(long, global = true, env = "CARTBRIDGE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server and the job workers (with the scheduler).
    Serve {
        /// HTTP worker threads (default: one per core).
        #[arg(long)]
        http_workers: Option<usize>,
        /// Jobs run at once by this process; 0 serves the web only (default:
        /// CARTBRIDGE_WORKERS, else 2).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Run only the job workers and the scheduler (no web server) until SIGINT/SIGTERM;
    /// jobs in progress are then handed back to the queue.
    Worker {
        /// Jobs run at once (default: CARTBRIDGE_WORKERS, else 2).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administration tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The vault's data keys, which encrypt the secrets stored in the database.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a support-staff account and print a one-time link to set its password.
    CreateStaff { email: String },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new data key and re-encrypt every stored secret under it. Safe while servers
    /// run: they pick up the new key by themselves. Old keys are kept.
    Rotate,
    /// Show each data key, how many stored secrets it encrypts, and which one is active.
    Status,
}

/// mimalloc returns freed pages to the system promptly (glibc keeps per-thread arenas), so
/// memory comes back after a burst of password hashes.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init("info");
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match run(cli.command, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, mut settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve {
            http_workers,
            workers,
        } => {
            settings.http_workers = http_workers;
            if let Some(workers) = workers {
                settings.jobs.workers = workers;
            }
            startup::Application::build(settings)
                .await?
                .run_until_stopped()
                .await
        }
        Command::Worker { workers } => {
            if let Some(workers) = workers {
                settings.jobs.workers = workers;
            }
            startup::run_workers(settings).await
        }
        Command::Migrate => {
            let db = startup::open_database(&settings, 1).await?;
            println!("migrations applied ({})", db.backend());
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::CreateStaff { email },
        } => {
            let email = Email::parse(&email)?;
            let master_key = startup::load_master_key(&settings)?;
            let db = startup::open_database(&settings, 2).await?;
            let public_url = match &settings.public_url {
                Some(url) => url.clone(),
                None => format!("http://{}", settings.listen).parse()?,
            };
            let ctx = startup::build_context(&settings, master_key, db, public_url).await?;
            let link = accounts::create_staff(&ctx, &email).await?;
            println!(
                "Staff account {email} is ready. Open this link within 72 hours to set its password:"
            );
            println!("{}", link.expose());
            Ok(())
        }
        Command::Keys { command } => {
            let master_key = startup::load_master_key(&settings)?;
            let db = startup::open_database(&settings, 2).await?;
            let vault = Vault::load(master_key, db.clone())
                .await
                .context("cannot open the vault")?;
            match command {
                KeysCommand::Rotate => rotate_keys(&vault, &db).await,
                KeysCommand::Status => print_key_status(&vault, &db).await,
            }
        }
    }
}

async fn rotate_keys(vault: &Vault, db: &cartbridge::db::Db) -> anyhow::Result<()> {
    let report = rotation::rotate(vault, db)
        .await
        .context("key rotation stopped; run `cartbridge keys rotate` again to finish")?;
    println!("added data key {} (now active)", report.key_id);
    for field in &report.fields {
        println!(
            "{}: {} re-encrypted, {} already current, {} retried after a concurrent change, {} gone meanwhile, {} failed",
            field.column,
            field.resealed,
            field.current,
            field.retried,
            field.vanished,
            field.failed.len()
        );
        for row in &field.failed {
            println!(
                "  tenant {} record {}: {}",
                row.tenant_id, row.id, row.reason
            );
        }
    }
    print_key_status(vault, db).await?;
    match report.failed() {
        0 => Ok(()),
        n => anyhow::bail!(
            "{n} secret(s) could not be re-encrypted and remain under an older key (listed above)"
        ),
    }
}

async fn print_key_status(vault: &Vault, db: &cartbridge::db::Db) -> anyhow::Result<()> {
    let status = rotation::status(vault, db)
        .await
        .context("cannot count the stored secrets")?;
    println!("active key: {}", status.active);
    for (id, count) in &status.keys {
        let active = if *id == status.active {
            " (active)"
        } else {
            ""
        };
        println!("key {id}: {count} secret(s){active}");
    }
    if status.unreadable > 0 {
        println!(
            "{} stored value(s) are not vault ciphertext",
            status.unreadable
        );
    }
    Ok(())
}
