//! The `cartbridge` command: parses the command line and calls into the library.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

use cartbridge::{accounts, config::Settings, domain::Email, startup, telemetry};

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
    /// Run the web server (and, once jobs exist, the job workers).
    Serve {
        /// HTTP worker threads (default: one per core).
        #[arg(long)]
        http_workers: Option<usize>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administration tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a support-staff account and print a one-time link to set its password.
    CreateStaff { email: String },
}

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
        Command::Serve { http_workers } => {
            settings.http_workers = http_workers;
            startup::Application::build(settings)
                .await?
                .run_until_stopped()
                .await
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
    }
}
