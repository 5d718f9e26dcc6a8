//! The permission table: seeding, replacing, versions and conditional reads.

use axum::body::Body;
use axum::http::Method;
use chefcito::permissions::{Permissions, UserType, VersionedPermissions};
use serde_json::json;

use crate::common::*;

fn one(endpoint: &str, types: &[UserType]) -> Permissions {
    Permissions {
        endpoints: [(endpoint.to_string(), types.iter().copied().collect())].into(),
    }
}

#[tokio::test]
async fn a_fresh_service_is_seeded_with_the_built_in_config_once() {
    let s = service().await;
    let listed = get(&s.app, "/permissions").await;
    assert_eq!(listed.status, 200);
    let current: VersionedPermissions = serde_json::from_value(listed.body).unwrap();
    assert_eq!(current.version, 1);
    let built_in = Permissions::from_yaml(users::DEFAULT_PERMISSIONS).unwrap();
    assert_eq!(current.permissions, built_in);

    let replaced = put(
        &s.app,
        "/permissions",
        json!({"endpoints": {"/venue": ["restaurant"]}}),
    )
    .await;
    assert_eq!(replaced.status, 200, "{replaced:?}");
    assert_eq!(replaced.body["version"], 2);

    // A restart keeps the operator's table.
    let again = users::build(&config(s.dir.path())).await.unwrap();
    let listed = get(&again, "/permissions").await;
    assert_eq!(listed.body["version"], 2);
    assert_eq!(
        listed.body["permissions"],
        json!({"endpoints": {"/venue": ["restaurant"]}})
    );
}

#[tokio::test]
async fn put_replaces_the_table_and_reports_the_diff() {
    let s = service().await;
    let before = json!({"endpoints": {"/docs": ["anonymous", "client"], "/users": ["client"]}});
    assert_eq!(put(&s.app, "/permissions", before).await.body["version"], 2);
    let body = json!({"endpoints": {"/docs": ["anonymous", "client"], "/venue": ["restaurant"]}});
    let next = put(&s.app, "/permissions", body.clone()).await;
    assert_eq!(next.status, 200);
    assert_eq!(
        next.body,
        json!({"version": 3, "diff": {"added": ["/venue restaurant"], "removed": ["/users client"]}})
    );

    // The same content again: nothing changes, not even the version.
    let same = put(&s.app, "/permissions", body).await;
    assert_eq!(
        same.body,
        json!({"version": 3, "diff": {"added": [], "removed": []}})
    );

    // A bad name is refused and changes nothing.
    let bad = put(
        &s.app,
        "/permissions",
        json!({"endpoints": {"venue?x": ["client"]}}),
    )
    .await;
    assert_eq!(bad.status, 400, "{bad:?}");
    assert!(bad.description().contains("venue?x"), "{bad:?}");
    assert_eq!(get(&s.app, "/permissions").await.body["version"], 3);
}

#[tokio::test]
async fn etag_and_if_none_match_give_304() {
    let s = service().await;
    let first = get(&s.app, "/permissions").await;
    assert_eq!(first.headers["etag"], "\"1\"");

    let conditional = |tag: &'static str| {
        request(Method::GET, "/permissions")
            .header("if-none-match", tag)
            .body(Body::empty())
            .unwrap()
    };
    let unchanged = send(&s.app, conditional("\"1\"")).await;
    assert_eq!(unchanged.status, 304);
    assert!(unchanged.raw.is_empty());
    assert_eq!(unchanged.headers["etag"], "\"1\"");

    put(
        &s.app,
        "/permissions",
        json!({"endpoints": {"/x": ["client"]}}),
    )
    .await;
    let changed = send(&s.app, conditional("\"1\"")).await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.headers["etag"], "\"2\"");
    assert_eq!(changed.body["version"], 2);
}

/// `load-db`'s path: the store functions on a file. Readers racing a series of replaces never
/// see a table that does not belong to the version read with it.
#[tokio::test]
async fn replace_permissions_is_versioned_and_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let db = users::store::open(&dir.path().join("users.db")).unwrap();
    assert_eq!(users::store::permissions_version(&db).await.unwrap(), 0);

    let a = one("/a", &[UserType::Client, UserType::Restaurant]);
    let b = Permissions {
        endpoints: [
            ("/b".to_string(), [UserType::Anonymous].into()),
            ("/c".to_string(), [UserType::Client].into()),
        ]
        .into(),
    };
    let applied = users::store::replace_permissions(&db, &a).await.unwrap();
    assert_eq!(applied.version, 1);
    assert_eq!(
        users::store::replace_permissions(&db, &a)
            .await
            .unwrap()
            .version,
        1
    );

    let reader = {
        let db = db.clone();
        let (a, b) = (a.clone(), b.clone());
        tokio::spawn(async move {
            for _ in 0..200 {
                let seen = users::store::permissions(&db).await.unwrap();
                // Odd versions hold `a`, even ones `b`.
                let expected = if seen.version % 2 == 1 { &a } else { &b };
                assert_eq!(&seen.permissions, expected, "version {}", seen.version);
                tokio::task::yield_now().await;
            }
        })
    };
    for i in 0..40 {
        let next = if i % 2 == 0 { &b } else { &a };
        let applied = users::store::replace_permissions(&db, next).await.unwrap();
        assert_eq!(applied.version, i + 2);
    }
    reader.await.unwrap();
    let last = users::store::permissions(&db).await.unwrap();
    assert_eq!((last.version, last.permissions), (41, a));
}

#[tokio::test]
async fn an_entry_allowing_nobody_is_kept_not_dropped() {
    let s = service().await;
    let body = json!({"endpoints": {"/venues/secret": [], "/venues/param": ["anonymous", "client", "restaurant"]}});
    let applied = put(&s.app, "/permissions", body).await;
    assert_eq!(applied.status, 200);
    assert!(
        applied.body["diff"]["added"]
            .as_array()
            .unwrap()
            .contains(&json!("/venues/secret nobody")),
        "{}",
        applied.body
    );
    let read = get(&s.app, "/permissions").await;
    assert_eq!(
        read.body["permissions"]["endpoints"]["/venues/secret"],
        json!([])
    );
    // Read back into the gateway's table, the entry still refuses everyone.
    let permissions: chefcito::permissions::VersionedPermissions =
        serde_json::from_value(read.body).unwrap();
    let table = chefcito::permissions::Table::new(&permissions.permissions);
    assert!(!table.allows("/venues/secret", chefcito::permissions::UserType::Client));
    assert!(table.allows("/venues/other", chefcito::permissions::UserType::Client));
}

/// `users load-permissions` (the Kubernetes Job's step) against a served users service.
#[tokio::test]
async fn load_permissions_validates_the_file_then_replaces_the_table() {
    let service = service().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = service.app.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("db_config.yaml");
    let args = users::load_permissions::Args {
        from_file: file.clone(),
        url: url.clone(),
    };
    let token = || Some(chefcito::config::Secret::new(TOKEN));

    std::fs::write(&file, "usertypes:\n  anonymous: anonymous\n  client: client\n  restaurant: restaurant\nendpoints:\n  - name: /venues\n    allowed: [client]\n").unwrap();
    let line = users::load_permissions::run(&args, token()).await.unwrap();
    assert!(line.contains("version"), "{line}");
    let table = get(&service.app, "/permissions").await;
    assert_eq!(
        table.body["permissions"]["endpoints"]["/venues"],
        json!(["client"])
    );
    let version = table.body["version"].clone();

    // A file with a mistake changes nothing; neither does a call without the internal token.
    std::fs::write(&file, "usertypes:\n  anonymous: anonymous\n  client: client\n  restaurant: restaurant\nendpoints:\n  - name: /venues\n    allowed: [chef]\n").unwrap();
    let e = users::load_permissions::run(&args, token())
        .await
        .unwrap_err();
    assert!(format!("{e:#}").contains("nothing was written"), "{e:#}");
    std::fs::write(&file, "usertypes:\n  anonymous: anonymous\n  client: client\n  restaurant: restaurant\nendpoints:\n  - name: /venues\n    allowed: [restaurant]\n").unwrap();
    let e = users::load_permissions::run(&args, None).await.unwrap_err();
    assert!(format!("{e:#}").contains("INTERNAL_TOKEN"), "{e:#}");
    let wrong = Some(chefcito::config::Secret::new("not the token"));
    assert!(users::load_permissions::run(&args, wrong).await.is_err());
    assert_eq!(
        get(&service.app, "/permissions").await.body["version"],
        version
    );
}
