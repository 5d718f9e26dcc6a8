//! The original project's tests (`original-users-gateway.md` §9), ported.

use chefcito::permissions::{Table, UserType, VersionedPermissions};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn unregistered_user_is_anonymous() {
    let s = service().await;
    assert_eq!(user_type(&s.app, "user_never_seen").await, "anonymous");
}

#[tokio::test]
async fn registered_user_is_not_anonymous() {
    let s = service().await;
    assert_eq!(
        register(&s.app, "user_1", "restaurant", "R", "")
            .await
            .status,
        200
    );
    assert_eq!(user_type(&s.app, "user_1").await, "restaurant");
}

#[tokio::test]
async fn registering_a_new_valid_user_makes_it_no_longer_anonymous() {
    let s = service().await;
    assert_eq!(user_type(&s.app, "new_user").await, "anonymous");
    assert_eq!(
        register(&s.app, "new_user", "client", "C", "").await.status,
        200
    );
    assert_eq!(user_type(&s.app, "new_user").await, "client");
}

#[tokio::test]
async fn updating_user_data_is_visible_on_the_next_read() {
    let s = service().await;
    register(&s.app, "user_2", "client", "Old", "111").await;
    let updated = put(
        &s.app,
        "/user/user_2",
        json!({"name": "New", "phone": "222"}),
    )
    .await;
    assert_eq!(updated.status, 200);
    let read = get(&s.app, "/user/user_2").await;
    assert_eq!(read.body["name"], "New");
    assert_eq!(read.body["phone_number"], "222");
}

/// `test_postgres`: a fresh store with the shipped `db_config.yaml` loaded the way
/// `cargo xtask load-db` does it, then the service on top of it.
#[tokio::test]
async fn fresh_store_with_the_shipped_config() {
    let dir = tempfile::tempdir().unwrap();
    let db = users::store::open(&dir.path().join(users::DB_FILE)).unwrap();
    let applied = users::store::replace_permissions(&db, &shipped_config())
        .await
        .unwrap();
    assert_eq!(applied.version, 1);
    assert!(applied.diff.removed.is_empty());
    drop(db);

    let app = users::build(&config(dir.path())).await.unwrap();
    let listed = get(&app, "/permissions").await;
    let permissions: VersionedPermissions = serde_json::from_value(listed.body).unwrap();
    assert_eq!(
        permissions.version, 1,
        "start-up must not re-seed a loaded table"
    );
    assert!(Table::new(&permissions.permissions).allows("/docs", UserType::Anonymous));

    let uid = "client_1";
    let registered = post(
        &app,
        "/users",
        json!({"localid": uid, "email": "c1@example.com", "user_type": "client",
               "name": "Carla", "phone_number": "1134567890"}),
    )
    .await;
    assert_eq!(registered.status, 200);
    put(
        &app,
        &format!("/user/{uid}"),
        json!({"name": "Carla M.", "phone": "1199999999"}),
    )
    .await;
    let read = get(&app, &format!("/user/{uid}")).await;
    assert_eq!(
        read.body,
        json!({"localid": uid, "email": "c1@example.com", "name": "Carla M.", "phone_number": "1199999999"})
    );
}
