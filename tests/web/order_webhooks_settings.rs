//! Placed Orders' storefront picker (issue 13): the store's channels (`GET /v3/channels`,
//! every page) offered as checkboxes, each choice checked against them on save, names saved
//! by older versions still matching, and a store that cannot list them.

use crate::helpers::{
    bc_webhooks::{OrdersEnv, STORE, order_body, orders_env},
    fake_bigcommerce::{FakeChannel, Fault},
};

/// The checkboxes of the storefront picker: (value, label, ticked).
fn picks(body: &str) -> Vec<(String, String, bool)> {
    let start = body
        .find("<fieldset id=\"storefronts\"")
        .expect("the storefronts fieldset");
    let end = start + body[start..].find("</fieldset>").expect("its end");
    let group = &body[start..end];
    group
        .split("<label class=\"choice\">")
        .skip(1)
        .map(|label| {
            let value = label
                .split("value=\"")
                .nth(1)
                .and_then(|v| v.split('"').next())
                .unwrap_or_default()
                .to_owned();
            let text = label
                .split('>')
                .nth(1)
                .and_then(|t| t.split("</label").next())
                .unwrap_or_default()
                .trim()
                .to_owned();
            (value, text, label.contains(" checked"))
        })
        .collect()
}

fn ticked(body: &str) -> Vec<String> {
    picks(body)
        .into_iter()
        .filter(|(_, _, t)| *t)
        .map(|(v, _, _)| v)
        .collect()
}

/// The form as saved with `storefronts` ticked (enabled, hourly, no start date).
async fn save_with(env: &OrdersEnv, storefronts: &[&str]) -> crate::helpers::Page {
    let mut fields = vec![
        ("enabled", "on"),
        ("interval_minutes", "60"),
        ("start_date", ""),
    ];
    fields.extend(storefronts.iter().map(|s| ("storefronts", *s)));
    env.submit_settings(&fields).await
}

#[tokio::test]
async fn the_picker_offers_every_channel_of_the_store_across_pages_and_saves_the_ticked_ids() {
    let env = orders_env(|_| {}).await;
    let wholesale = env
        .fake
        .add_channel(STORE, FakeChannel::new("Wholesale", "storefront", "custom"));
    let amazon = env.fake.add_channel(
        STORE,
        FakeChannel::new("Amazon EU", "marketplace", "amazon").status("connected"),
    );
    let old = env.fake.add_channel(
        STORE,
        FakeChannel::new("Old shop", "storefront", "custom").status("archived"),
    );
    // More than one page of 250.
    let mut last = 0;
    for n in 0..250 {
        last = env.fake.add_channel(
            STORE,
            FakeChannel::new(&format!("Pop-up {n}"), "pos", "square"),
        );
    }

    env.fake.clear_requests();
    let page = env.client.get(&env.settings_path()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(
            "<fieldset id=\"storefronts\" class=\"picks\" aria-describedby=\"storefronts-help\">"
        ) && page.body.contains("<legend>Storefronts</legend>"),
        "a labelled group: {}",
        page.body
    );
    let all = picks(&page.body);
    assert_eq!(all.len(), 254, "every channel, the default one included");
    assert!(
        all.iter().all(|(_, _, t)| !t),
        "none ticked: every storefront"
    );
    let label_of = |id: i64| {
        all.iter()
            .find(|(v, _, _)| *v == id.to_string())
            .map(|(_, l, _)| l.clone())
            .unwrap_or_else(|| panic!("no box for channel {id}"))
    };
    assert_eq!(label_of(1), "1 — Orders Store (bigcommerce)");
    assert_eq!(
        label_of(wholesale),
        format!("{wholesale} — Wholesale (custom)")
    );
    assert_eq!(label_of(amazon), format!("{amazon} — Amazon EU (amazon)"));
    assert_eq!(
        label_of(old),
        format!("{old} — Old shop (custom, archived)")
    );
    assert_eq!(
        label_of(last),
        format!("{last} — Pop-up 249 (square)"),
        "from page 2"
    );
    let pages: Vec<String> = env
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/v3/channels"))
        .map(|r| r.query)
        .collect();
    assert_eq!(pages, ["page=1&limit=250", "page=2&limit=250"]);

    let w = wholesale.to_string();
    let l = last.to_string();
    let res = save_with(&env, &[&w, &l]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(
        env.saved_storefronts().await,
        Some((true, format!("{wholesale}, {last}")))
    );
    let page = env.client.get(&env.settings_path()).await;
    assert_eq!(ticked(&page.body), [w.clone(), l.clone()]);

    // The filter uses them: an order of the default storefront is dropped, one of the
    // channel from page 2 is sent with its name.
    let (dropped, _) = env.place(order_body(1, None), "www").await;
    let (kept, _) = env.place(order_body(last, None), "www").await;
    env.app.run_due_jobs().await;
    let events = env.events().await;
    assert!(
        events
            .iter()
            .any(|e| e["order_id"] == kept && e["storefront"] == "Pop-up 249")
    );
    assert!(!events.iter().any(|e| e["order_id"] == dropped));

    // Unticking everything: every storefront again.
    let res = save_with(&env, &[]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(env.saved_storefronts().await, Some((true, String::new())));
}

#[tokio::test]
async fn a_storefront_that_is_not_one_of_the_stores_channels_is_refused_and_nothing_changes() {
    let env = orders_env(|_| {}).await;
    let wholesale = env
        .fake
        .add_channel(STORE, FakeChannel::new("Wholesale", "storefront", "custom"));
    let res = save_with(&env, &["1"]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let before = env.app.snapshot().await;

    let too_long = "9".repeat(101);
    let cases: [(&[&str], &str); 4] = [
        (&["999"], "“999” is not among the options for “Storefronts”"),
        (
            &["1", "999", "nope"],
            "“999”, “nope” are not among the options for “Storefronts”",
        ),
        (&["1\u{7}"], "Choose from the options for “Storefronts”."),
        (&[&too_long], "Choose from the options for “Storefronts”."),
    ];
    for (chosen, message) in cases {
        let res = save_with(&env, chosen).await;
        assert_eq!(res.status, 422, "{chosen:?}: {}", res.body);
        assert!(
            res.body.contains("id=\"form-error\">Nothing was saved"),
            "{chosen:?}"
        );
        let error = res
            .body
            .split("id=\"storefronts-error\">")
            .nth(1)
            .and_then(|e| e.split("</p>").next())
            .unwrap_or_else(|| panic!("{chosen:?}: no message beside the field"));
        assert!(error.contains(message), "{chosen:?}: {error}");
        assert!(
            res.body
                .contains("aria-describedby=\"storefronts-help storefronts-error\""),
            "the group names its error"
        );
        assert_eq!(env.app.snapshot().await, before, "{chosen:?} changed data");
    }

    // A name (as older settings stored them) names its channel, and its id is stored.
    let res = save_with(&env, &["wholesale"]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(
        env.saved_storefronts().await,
        Some((true, wholesale.to_string()))
    );
}

#[tokio::test]
async fn names_saved_by_older_versions_are_shown_ticked_and_still_filter() {
    let env = orders_env(|_| {}).await;
    let eu = env.fake.add_channel(
        STORE,
        FakeChannel::new("Amazon EU", "marketplace", "amazon"),
    );
    let gone = "Closed shop";
    env.save(true, &format!("amazon eu, {gone}"), "").await;

    let page = env.client.get(&env.settings_path()).await;
    assert_eq!(page.status, 200);
    let boxes = picks(&page.body);
    assert!(boxes.contains(&(eu.to_string(), format!("{eu} — Amazon EU (amazon)"), true)));
    assert!(
        boxes.contains(&(
            gone.to_owned(),
            format!("{gone} (no longer a channel of the store)"),
            true
        )),
        "a saved entry that is no channel any more is shown, ticked: {boxes:?}"
    );
    let (sent, _) = env.place(order_body(eu, None), "amazon").await;
    env.app.run_due_jobs().await;
    assert!(env.events().await.iter().any(|e| e["order_id"] == sent));

    // Saving as shown says which entry to untick; unticking it stores the id.
    let before = env.app.snapshot().await;
    let eu_id = eu.to_string();
    let res = save_with(&env, &[&eu_id, gone]).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("“Closed shop” is not among the options"));
    assert_eq!(env.app.snapshot().await, before);
    let res = save_with(&env, &[&eu_id]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(env.saved_storefronts().await, Some((true, eu_id)));
}

#[tokio::test]
async fn when_the_channels_cannot_be_loaded_the_saved_choice_is_shown_explained_and_kept() {
    let env = orders_env(|_| {}).await;
    let res = save_with(&env, &["1"]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    env.fake.inject(Fault::Status {
        status: 503,
        path_prefix: "/v3/channels".into(),
        times: 100,
    });

    let page = env.client.get(&env.settings_path()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        picks(&page.body),
        [("1".to_owned(), "1".to_owned(), true)],
        "the saved value, ticked"
    );
    let error = page
        .body
        .split("id=\"storefronts-error\">")
        .nth(1)
        .and_then(|e| e.split("</p>").next())
        .expect("an explanation beside the field");
    assert!(
        error.contains("could not be loaded from the store") && error.contains("kept"),
        "{error}"
    );

    // Other settings can still be saved (the flow turned off) with the choice as it was…
    let res = env
        .submit_settings(&[
            ("interval_minutes", "120"),
            ("start_date", ""),
            ("storefronts", "1"),
        ])
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(env.saved_storefronts().await, Some((false, "1".into())));
    // …but a new choice cannot be checked, so it is refused.
    let before = env.app.snapshot().await;
    let res = save_with(&env, &["1", "2"]).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains(
        "The options for “Storefronts” could not be loaded, so the choice cannot be checked"
    ));
    assert_eq!(env.app.snapshot().await, before);
    // None ticked needs no check.
    let res = save_with(&env, &[]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(env.saved_storefronts().await, Some((true, String::new())));
}

#[tokio::test]
async fn a_token_without_the_channels_scope_is_told_which_scope_lists_them() {
    let env = orders_env(|_| {}).await;
    env.fake.inject(Fault::Status {
        status: 403,
        path_prefix: "/v3/channels".into(),
        times: 10,
    });
    let page = env.client.get(&env.settings_path()).await;
    assert_eq!(page.status, 200);
    assert!(picks(&page.body).is_empty());
    assert!(
        page.body
            .contains("lacks the scope store_channel_settings_read_only")
            && page
                .body
                .contains("Nothing is ticked, and saving keeps it so."),
        "{}",
        page.body
    );
}
