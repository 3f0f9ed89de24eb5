//! Signup, verification, login/logout, throttling, password reset, invitations, staff.

use crate::helpers::{PASSWORD, spawn_app};

#[tokio::test]
async fn a_person_can_sign_up_verify_log_in_and_log_out() {
    let app = spawn_app().await;
    let client = app.client();

    let res = client
        .submit(
            "/signup",
            "/signup",
            &[
                ("email", "Jane@Example.com"),
                ("password", PASSWORD),
                ("company", "Acme Supply"),
            ],
        )
        .await;
    res.assert_redirect_to("/signup/check-email");
    let page = client.get("/signup/check-email").await;
    assert!(page.body.contains("jane@example.com"), "{}", page.body);

    // Not verified yet: login is refused with a clear message.
    let res = client
        .submit(
            "/login",
            "/login",
            &[("email", "jane@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status, 401);
    assert!(res.body.contains("confirm your email"), "{}", res.body);

    let emails = app.emails_to("jane@example.com").await;
    assert_eq!(emails.len(), 1);
    assert!(emails[0].subject.contains("Confirm your email"));
    app.confirm_email(&client, "jane@example.com").await;

    let res = client
        .submit(
            "/login",
            "/login",
            &[("email", "jane@example.com"), ("password", PASSWORD)],
        )
        .await;
    res.assert_redirect_to("/");
    let tenant_id = app
        .scalar_i64("SELECT id FROM tenants WHERE name = 'Acme Supply'")
        .await;
    client
        .get("/")
        .await
        .assert_redirect_to(&format!("/t/{tenant_id}"));
    let dashboard = client.get(&format!("/t/{tenant_id}")).await;
    assert_eq!(dashboard.status, 200);
    assert!(dashboard.body.contains("Acme Supply") && dashboard.body.contains("owner"));

    let res = client.submit("/", "/logout", &[]).await;
    res.assert_redirect_to("/login");
    let after = client.get(&format!("/t/{tenant_id}")).await;
    assert_eq!(after.status, 303);
    assert_eq!(
        after.location.as_deref(),
        Some(format!("/login?next=%2Ft%2F{tenant_id}").as_str())
    );
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM sessions WHERE user_id IS NOT NULL")
            .await,
        0,
        "logout ends the session server-side"
    );
}

#[tokio::test]
async fn signup_rejects_bad_input_with_a_message_and_changes_nothing() {
    let app = spawn_app().await;
    app.signup_and_login("taken@example.com", "First Co").await;
    let client = app.client();
    let cases: &[(&str, &str, &str, &str)] = &[
        ("taken@example.com", PASSWORD, "Second Co", "already exists"),
        (
            "not-an-email",
            PASSWORD,
            "Second Co",
            "is not a valid email address",
        ),
        (
            "new@example.com",
            "short",
            "Second Co",
            "at least 10 characters",
        ),
        (
            "new@example.com",
            "password123",
            "Second Co",
            "too easy to guess",
        ),
        (
            "new@example.com",
            PASSWORD,
            "   ",
            "Enter your company name",
        ),
    ];
    for (email, password, company, message) in cases {
        let before = app.snapshot().await;
        let res = client
            .submit(
                "/signup",
                "/signup",
                &[
                    ("email", email),
                    ("password", password),
                    ("company", company),
                ],
            )
            .await;
        assert_eq!(res.status, 422, "{email}/{password}/{company}");
        assert!(
            res.body.contains(message),
            "expected {message:?} in {}",
            res.body
        );
        assert!(
            !res.body.contains(password)
                || *password == PASSWORD && !res.body.contains(&format!("value=\"{PASSWORD}\"")),
            "the password is never sent back"
        );
        assert!(
            res.body.contains(&format!("value=\"{}\"", email)),
            "non-secret input is kept"
        );
        assert_eq!(app.snapshot().await, before, "{email}: nothing changes");
    }
    assert_eq!(app.emails_to("new@example.com").await.len(), 0);
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_throttled() {
    let app = spawn_app().await;
    app.signup_and_login("jane@example.com", "Acme").await;
    let client = app.client();
    let before = app.snapshot().await;
    for _ in 0..5 {
        let res = client
            .submit(
                "/login",
                "/login",
                &[
                    ("email", "jane@example.com"),
                    ("password", "wrong password here"),
                ],
            )
            .await;
        assert_eq!(res.status, 401);
        assert!(res.body.contains("Wrong email or password"));
    }
    // Unknown accounts get the same answer (no account probing).
    let res = client
        .submit(
            "/login",
            "/login",
            &[("email", "nobody@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status, 401);
    assert!(res.body.contains("Wrong email or password"));
    // Now even the right password is held back, with a clear message.
    let res = client
        .submit(
            "/login",
            "/login",
            &[("email", "jane@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status, 429);
    assert!(
        res.body
            .contains("Too many failed attempts. Wait 15 minute(s)"),
        "{}",
        res.body
    );
    assert_eq!(app.snapshot().await, before);
    // Once the window has passed, the right password works again.
    app.execute("UPDATE login_attempts SET at = at - 3600")
        .await;
    let res = client
        .submit(
            "/login",
            "/login",
            &[("email", "jane@example.com"), ("password", PASSWORD)],
        )
        .await;
    res.assert_redirect_to("/");
}

#[tokio::test]
async fn verification_links_work_once_and_expire() {
    let app = spawn_app().await;
    let client = app.client();
    client
        .submit(
            "/signup",
            "/signup",
            &[
                ("email", "jane@example.com"),
                ("password", PASSWORD),
                ("company", "Acme"),
            ],
        )
        .await;
    let link = app.last_link("jane@example.com", "/verify-email").await;
    let path = link.strip_prefix(&app.base).unwrap().to_owned();
    let token = path.split("token=").nth(1).unwrap().to_owned();
    app.confirm_email(&client, "jane@example.com").await;

    let before = app.snapshot().await;
    // A used link (a second click, a mail scanner) is no error: the address is confirmed.
    let reused = client.get(&path).await;
    assert_eq!(reused.status, 200);
    assert!(reused.body.contains("already confirmed"), "{}", reused.body);
    assert!(reused.body.contains(r#"href="/login""#), "{}", reused.body);
    let reused_post = client
        .submit("/login", "/verify-email", &[("token", &token)])
        .await;
    assert_eq!(reused_post.status, 200);
    assert!(reused_post.body.contains("already confirmed"));
    let bogus = client.get("/verify-email?token=not-a-real-token").await;
    assert_eq!(bogus.status, 400);
    assert!(bogus.body.contains("not valid"));
    assert_eq!(app.snapshot().await, before);

    // A second account whose link has expired.
    client
        .submit(
            "/signup",
            "/signup",
            &[
                ("email", "late@example.com"),
                ("password", PASSWORD),
                ("company", "Late Co"),
            ],
        )
        .await;
    app.execute(
        "UPDATE user_tokens SET expires_at = 1 WHERE purpose = 'verify_email' AND used_at IS NULL",
    )
    .await;
    let before = app.snapshot().await;
    let link = app.last_link("late@example.com", "/verify-email").await;
    let path = link.strip_prefix(&app.base).unwrap().to_owned();
    let expired = client.get(&path).await;
    assert_eq!(expired.status, 400);
    assert!(expired.body.contains("expired"), "{}", expired.body);
    let token = path.split("token=").nth(1).unwrap().to_owned();
    let expired_post = client
        .submit("/login", "/verify-email", &[("token", &token)])
        .await;
    assert_eq!(expired_post.status, 400);
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users WHERE email = 'late@example.com' AND email_verified_at IS NULL").await, 1);

    // Asking again sends a fresh link that works.
    client
        .submit(
            "/signup/check-email",
            "/verify-email/resend",
            &[("email", "late@example.com")],
        )
        .await;
    app.confirm_email(&client, "late@example.com").await;
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users WHERE email = 'late@example.com' AND email_verified_at IS NOT NULL").await, 1);
}

#[tokio::test]
async fn password_reset_by_email_sets_a_new_password_and_ends_other_sessions() {
    let app = spawn_app().await;
    let (old_session, tenant_id) = app.signup_and_login("jane@example.com", "Acme").await;
    let client = app.client();

    // Unknown email: same answer, no email, nothing stored.
    let before = app.snapshot().await;
    let res = client
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", "ghost@example.com")],
        )
        .await;
    res.assert_redirect_to("/login");
    assert_eq!(app.snapshot().await, before);
    assert!(app.emails_to("ghost@example.com").await.is_empty());
    let res = client
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", "bad address")],
        )
        .await;
    assert_eq!(res.status, 422);

    client
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", "jane@example.com")],
        )
        .await;
    let link = app.last_link("jane@example.com", "/password/reset").await;
    let path = link.strip_prefix(&app.base).unwrap().to_owned();
    let form = client.get(&path).await;
    assert_eq!(form.status, 200);
    let token = form.hidden_input("token").unwrap();

    let before = app.snapshot().await;
    let weak = client
        .submit(
            &path,
            "/password/reset",
            &[("token", &token), ("password", "short")],
        )
        .await;
    assert_eq!(weak.status, 422);
    assert!(weak.body.contains("at least 10 characters"));
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused password changes nothing"
    );

    let new_password = "a brand new passphrase";
    let done = client
        .submit(
            &path,
            "/password/reset",
            &[("token", &token), ("password", new_password)],
        )
        .await;
    done.assert_redirect_to("/login");

    // The session logged in before the reset is over.
    let res = old_session.get(&format!("/t/{tenant_id}")).await;
    assert_eq!(res.status, 303, "old session must be signed out");

    let old = client
        .submit(
            "/login",
            "/login",
            &[("email", "jane@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(old.status, 401);
    let new = client
        .submit(
            "/login",
            "/login",
            &[("email", "jane@example.com"), ("password", new_password)],
        )
        .await;
    new.assert_redirect_to("/");

    let before = app.snapshot().await;
    let reused = client.get(&path).await;
    assert_eq!(reused.status, 400);
    assert!(reused.body.contains("already been used"));
    let reused_post = client
        .submit(
            "/login",
            "/password/reset",
            &[("token", &token), ("password", "yet another passphrase")],
        )
        .await;
    assert_eq!(reused_post.status, 400);
    assert_eq!(app.snapshot().await, before);

    // An expired reset link.
    client
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", "jane@example.com")],
        )
        .await;
    app.execute("UPDATE user_tokens SET expires_at = 1 WHERE purpose = 'reset_password' AND used_at IS NULL").await;
    let before = app.snapshot().await;
    let link = app.last_link("jane@example.com", "/password/reset").await;
    let expired = client.get(link.strip_prefix(&app.base).unwrap()).await;
    assert_eq!(expired.status, 400);
    assert!(expired.body.contains("expired"));
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn owners_invite_members_who_join_by_email() {
    let app = spawn_app().await;
    let (owner, tenant_id) = app.signup_and_login("owner@example.com", "Acme").await;
    let members = format!("/t/{tenant_id}/members");
    let invite = format!("/t/{tenant_id}/invitations");

    let bad = owner
        .submit(&members, &invite, &[("email", "nope"), ("role", "member")])
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("is not a valid email address"));

    let res = owner
        .submit(
            &members,
            &invite,
            &[("email", "new.person@example.com"), ("role", "member")],
        )
        .await;
    res.assert_redirect_to(&members);
    let page = owner.get(&members).await;
    assert!(page.body.contains("new.person@example.com") && page.body.contains("Invitation sent"));

    // The invitee has no account: they choose a password and are signed in.
    let invitee = app.client();
    let link = app
        .last_link("new.person@example.com", "/invitations/accept")
        .await;
    let path = link.strip_prefix(&app.base).unwrap().to_owned();
    let accept_page = invitee.get(&path).await;
    assert!(
        accept_page.body.contains("Join Acme"),
        "{}",
        accept_page.body
    );
    let token = accept_page.hidden_input("token").unwrap();
    let weak = invitee
        .submit(
            &path,
            "/invitations/accept",
            &[("token", &token), ("password", "weak")],
        )
        .await;
    assert_eq!(weak.status, 422);
    let res = invitee
        .submit(
            &path,
            "/invitations/accept",
            &[("token", &token), ("password", "member passphrase ok")],
        )
        .await;
    res.assert_redirect_to("/");
    invitee
        .get("/")
        .await
        .assert_redirect_to(&format!("/t/{tenant_id}"));
    let role = app.scalar_i64("SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = 'new.person@example.com' AND m.role = 'member'").await;
    assert_eq!(role, 1);

    // Members see the list but cannot invite.
    assert_eq!(invitee.get(&members).await.status, 200);
    let before = app.snapshot().await;
    let denied = invitee
        .submit(
            &members,
            &invite,
            &[("email", "x@example.com"), ("role", "member")],
        )
        .await;
    assert_eq!(denied.status, 422);
    assert!(denied.body.contains("Only owners and admins"));
    assert_eq!(app.snapshot().await, before);

    // The link is used up.
    assert_eq!(app.client().get(&path).await.status, 400);

    // An existing account accepts after logging in.
    let (other, _) = app
        .signup_and_login("existing@example.com", "Other Co")
        .await;
    owner
        .submit(
            &members,
            &invite,
            &[("email", "existing@example.com"), ("role", "admin")],
        )
        .await;
    let link = app
        .last_link("existing@example.com", "/invitations/accept")
        .await;
    let path = link.strip_prefix(&app.base).unwrap().to_owned();
    let token = other.get(&path).await.hidden_input("token").unwrap();
    other
        .submit(&path, "/invitations/accept", &[("token", &token)])
        .await
        .assert_redirect_to("/");
    assert_eq!(other.get(&members).await.status, 200);

    // The last owner cannot be removed or demoted; another owner makes it possible.
    let owner_id = app
        .scalar_i64("SELECT id FROM users WHERE email = 'owner@example.com'")
        .await;
    let before = app.snapshot().await;
    let res = owner
        .submit(
            &members,
            &format!("/t/{tenant_id}/members/{owner_id}/role"),
            &[("role", "member")],
        )
        .await;
    assert_eq!(res.status, 403);
    assert!(res.body.contains("at least one owner"));
    let res = owner
        .submit(
            &members,
            &format!("/t/{tenant_id}/members/{owner_id}/remove"),
            &[],
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(app.snapshot().await, before);

    // Revoking a pending invitation.
    owner
        .submit(
            &members,
            &invite,
            &[("email", "later@example.com"), ("role", "member")],
        )
        .await;
    let inv_id = app
        .scalar_i64("SELECT id FROM invitations WHERE email = 'later@example.com'")
        .await;
    owner
        .submit(
            &members,
            &format!("/t/{tenant_id}/invitations/{inv_id}/revoke"),
            &[],
        )
        .await
        .assert_redirect_to(&members);
    let link = app
        .last_link("later@example.com", "/invitations/accept")
        .await;
    let res = app
        .client()
        .get(link.strip_prefix(&app.base).unwrap())
        .await;
    assert_eq!(res.status, 403);
    assert!(res.body.contains("withdrawn"));
}

#[tokio::test]
async fn admin_is_only_for_staff_and_is_404_for_everyone_else() {
    let app = spawn_app().await;
    assert_eq!(app.client().get("/admin").await.status, 404);
    let (tenant_user, _) = app.signup_and_login("jane@example.com", "Acme").await;
    assert_eq!(tenant_user.get("/admin").await.status, 404);
}
