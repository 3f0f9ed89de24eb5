//! Records a test needs, made through the app's own services (so they are what a user's
//! clicks would have made: sealed secrets, audit entries, valid values) instead of SQL
//! written by hand.

use cartbridge::{
    accounts::members::Actor,
    connections::{
        oauth_clients::{self, ClientId, OAuthClientName},
        store::{self, ConnectionInput},
    },
    db::{self, runs::NewRun},
    domain::{AuthType, ConnectionName, Role, Scopes, Secret, StoreHash},
    jobs::{self, RunMode, SyncRequest, Trigger},
};

use super::TestApp;

/// The owner of `tenant_id` (the user who signed up with `email`), as services see them.
pub async fn owner(app: &TestApp, tenant_id: i64, email: &str) -> Actor {
    let user_id = app
        .scalar_i64(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .await;
    Actor {
        tenant_id,
        tenant_name: String::new(),
        user_id,
        email: email.to_owned(),
        role: Role::Owner,
    }
}

/// An OAuth client record with a sealed secret; returns its id.
pub async fn oauth_client(app: &TestApp, actor: &Actor, name: &str, client_id: &str) -> i64 {
    oauth_clients::create(
        &app.ctx,
        actor,
        &OAuthClientName::parse(name).expect("a valid name"),
        &ClientId::parse(client_id).expect("a valid client id"),
        &Secret::new(format!("{client_id}-secret-5d1e")),
    )
    .await
    .expect("OAuth client created")
}

/// An API-token connection to `store` (token sealed, not tested); returns its id.
pub async fn token_connection(app: &TestApp, actor: &Actor, name: &str, store: &str) -> i64 {
    let input = ConnectionInput {
        name: ConnectionName::parse(name).expect("a valid name"),
        auth_type: AuthType::Token,
        store_hash: StoreHash::parse(store).expect("a valid store hash"),
        oauth_client_id: None,
        api_client_id: Some(format!("client-{store}")),
        token: Some(Secret::new(format!("tok-{store}-fixture-7c2a"))),
        scopes: Scopes::defaults(),
    };
    store::create(&app.ctx, actor, &input)
        .await
        .expect("connection created")
}

/// A sync of `flow` that ran and finished with `status` (its job done); returns the run's
/// id. The app must run no workers of its own, or one of them may take the job first.
pub async fn finished_run(
    app: &TestApp,
    tenant_id: i64,
    connection_id: i64,
    store: &str,
    flow: &'static str,
    status: &str,
) -> i64 {
    let sync = SyncRequest {
        mode: RunMode::Full,
        trigger: Trigger::Manual,
    };
    let job = jobs::enqueue_sync(&app.ctx, tenant_id, connection_id, store, flow, sync)
        .await
        .expect("enqueue")
        .expect("queued");
    let run = NewRun {
        connection_id,
        flow,
        job_id: job,
        triggered_by: "manual",
        mode: "full",
    };
    let id = db::runs::create(&app.db, tenant_id, &run)
        .await
        .expect("run");
    db::runs::finish(&app.db, tenant_id, id, status, None)
        .await
        .expect("finish the run");
    // A queued email (an alert) must not be the job claimed here.
    app.email_jobs_settled().await;
    let claimed = db::jobs::claim(&app.db, "fixture", 60)
        .await
        .expect("claim")
        .expect("the run's job is due");
    assert_eq!(claimed.id, job, "another job was due");
    assert!(
        db::jobs::complete(&app.db, job, "fixture")
            .await
            .expect("complete")
    );
    id
}
